package emailfake

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
)

// Part is one leaf of a message's MIME tree, its body decoded.
type Part struct {
	// MediaType is the lower-case media type ("text/plain").
	MediaType string
	// Params are the Content-Type parameters (charset, …).
	Params map[string]string
	// Header is the part's own header (for a single-part message, the
	// message's MIME headers).
	Header textproto.MIMEHeader
	// Body is the content with its transfer encoding undone (for a single-part
	// message, without the final line break of the SMTP data).
	Body string
	// Parent is the media type of the enclosing multipart ("multipart/alternative"),
	// "" for a single-part message.
	Parent string
}

// Parts returns the leaves of the message's MIME tree in order.
func (m Message) Parts() ([]Part, error) {
	if m.ParseErr != nil {
		return nil, m.ParseErr
	}
	h := textproto.MIMEHeader(m.Header)
	return walk(h, bytes.NewReader(m.Body), "", 0)
}

// Part returns the first leaf of the given media type, if any.
func (m Message) Part(mediaType string) (Part, bool) {
	parts, err := m.Parts()
	if err != nil {
		return Part{}, false
	}
	for _, p := range parts {
		if p.MediaType == mediaType {
			return p, true
		}
	}
	return Part{}, false
}

func walk(h textproto.MIMEHeader, body io.Reader, parent string, depth int) ([]Part, error) {
	if depth > 10 {
		return nil, fmt.Errorf("emailfake: MIME nesting too deep")
	}
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain; charset=us-ascii"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, fmt.Errorf("emailfake: Content-Type %q: %w", ct, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		var out []Part
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return nil, fmt.Errorf("emailfake: %s: %w", mt, err)
			}
			sub, err := walk(p.Header, p, mt, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		}
	}
	var r io.Reader = body
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body) // the decoder skips CR and LF
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("emailfake: %s body: %w", mt, err)
	}
	text := string(b)
	if depth == 0 {
		// The line break that ends the data belongs to SMTP, not to the text.
		text = strings.TrimSuffix(text, "\r\n")
	}
	return []Part{{MediaType: mt, Params: params, Header: h, Body: text, Parent: parent}}, nil
}
