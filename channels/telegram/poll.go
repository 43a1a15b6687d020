package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/7loc/hub/hub"
)

// Poll long-polls getUpdates and hands each batch's events to handle, for
// setups without a public webhook URL (hub dev). The offset moves past a
// batch only after handle returns nil; otherwise the batch is fetched and
// handled again after PollBackoff. When a webhook is set (409 Conflict) Poll
// deletes it. Poll returns nil when ctx ends, and an error when the token is
// refused (401/404), which no retry can fix.
func (s *Sender) Poll(ctx context.Context, handle func(context.Context, []hub.Inbound) error) error {
	offset := int64(0)
	for ctx.Err() == nil {
		updates, err := s.getUpdates(ctx, offset)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			se := hub.AsSendError(err)
			var api *tgbotapi.Error
			isAPI := errors.As(err, &api)
			switch {
			case se.Reason == "config":
				return err
			case isAPI && api.Code == http.StatusConflict:
				s.log.WarnContext(ctx, "telegram: a webhook is set; deleting it to poll", "bot_id", s.botID)
				if err := s.DeleteWebhook(ctx); err != nil {
					s.log.WarnContext(ctx, "telegram: deleteWebhook failed", "bot_id", s.botID, "err", err)
					s.sleep(ctx, s.backoff)
				}
			case se.Kind == hub.SendRateLimited:
				s.sleep(ctx, se.RetryAfter)
			default:
				s.log.WarnContext(ctx, "telegram: getUpdates failed", "bot_id", s.botID, "err", err)
				s.sleep(ctx, s.backoff)
			}
			continue
		}
		if len(updates) == 0 {
			continue
		}
		var events []hub.Inbound
		next := offset
		for _, u := range updates {
			events = append(events, s.inbound(u)...)
			if u.UpdateID >= next {
				next = u.UpdateID + 1
			}
		}
		if len(events) > 0 {
			if err := handle(ctx, events); err != nil {
				if ctx.Err() != nil {
					break
				}
				s.log.WarnContext(ctx, "telegram: handling updates failed; retrying", "bot_id", s.botID, "err", err)
				s.sleep(ctx, s.backoff)
				continue
			}
		}
		offset = next
	}
	return nil
}

// getUpdates fetches the updates from offset on, waiting up to PollTimeout.
func (s *Sender) getUpdates(ctx context.Context, offset int64) ([]update, error) {
	wait := 0
	if s.pollWait > 0 {
		wait = int(math.Ceil(s.pollWait.Seconds()))
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout+time.Duration(wait)*time.Second)
	defer cancel()
	params := tgbotapi.Params{"timeout": strconv.Itoa(wait)}
	if offset != 0 {
		params["offset"] = strconv.FormatInt(offset, 10)
	}
	if err := params.AddInterface("allowed_updates", allowedUpdates); err != nil {
		return nil, err
	}
	bot, c := s.bot(ctx)
	resp, err := bot.MakeRequest("getUpdates", params)
	if err != nil {
		return nil, classify(err, c)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(resp.Result, &raws); err != nil {
		return nil, err
	}
	// One odd update must not stall the queue: it keeps its id (so the
	// offset moves past it) and yields no event.
	updates := make([]update, 0, len(raws))
	for _, raw := range raws {
		var u update
		if err := json.Unmarshal(raw, &u); err != nil {
			var id struct {
				UpdateID int64 `json:"update_id"`
			}
			_ = json.Unmarshal(raw, &id)
			u = update{UpdateID: id.UpdateID}
			s.log.WarnContext(ctx, "telegram: skipping an update that does not decode", "bot_id", s.botID, "update_id", id.UpdateID, "err", err)
		}
		updates = append(updates, u)
	}
	return updates, nil
}

func (s *Sender) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
