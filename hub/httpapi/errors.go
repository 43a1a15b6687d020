package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/7loc/hub/hub"
)

// statusOf maps every hub error code to its HTTP status: the one place where
// domain errors become HTTP.
var statusOf = map[hub.Code]int{
	hub.EInvalidJSON:          http.StatusBadRequest,
	hub.EUnauthorized:         http.StatusUnauthorized,
	hub.ENotFound:             http.StatusNotFound,
	hub.EConflict:             http.StatusConflict,
	hub.EAlreadyRedeemed:      http.StatusConflict,
	hub.EVoucherExpired:       http.StatusConflict,
	hub.EIdempotencyMismatch:  http.StatusConflict,
	hub.EPayloadTooLarge:      http.StatusRequestEntityTooLarge,
	hub.EUnsupportedMediaType: http.StatusUnsupportedMediaType,
	hub.EValidation:           http.StatusUnprocessableEntity,
	hub.ERateLimited:          http.StatusTooManyRequests,
	hub.EInternal:             http.StatusInternalServerError,
	hub.EUnavailable:          http.StatusServiceUnavailable,
}

// errorBody is the error envelope of the contract.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    hub.Code          `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// fail writes err as the error envelope and stops the handler chain.
func (s *server) fail(c *gin.Context, err error) {
	code := hub.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = hub.EInternal, http.StatusInternalServerError
	}
	body := errorBody{Error: errorDetail{Code: code, Message: hub.ErrorMessage(err)}}
	if code == hub.EValidation {
		body.Error.Fields = hub.ErrorFields(err)
	}
	if status >= 500 {
		level := slog.LevelError
		if code == hub.EUnavailable {
			level = slog.LevelWarn
		}
		s.log.Log(c.Request.Context(), level, "request failed", "method", c.Request.Method,
			"path", c.Request.URL.Path, "code", code, "err", err)
	}
	if code == hub.EUnavailable {
		c.Header("Retry-After", "5")
	}
	c.AbortWithStatusJSON(status, body)
}

var errNoRoute = hub.Errorf(hub.ENotFound, "no such endpoint")
var errMethod = hub.Errorf(hub.ENotFound, "no such endpoint for this method")
