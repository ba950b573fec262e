package export

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/standin-dev/standin/delivery"
)

// Item is one request to replay.
type Item struct {
	// Label names it in replay's output: "sync_end 0196… attempt 2", or
	// "line 3" for a raw capture.
	Label string
	// Event, DeliveryID and Attempt name the recorded attempt of an export;
	// they are empty for a raw capture.
	Event      string
	DeliveryID string
	Attempt    int
	Request    Request
	// Signing is the scheme that signed it, nil when unknown (a raw
	// capture): re-signing then infers it from the headers.
	Signing *delivery.Signing
}

// maxLine bounds one line of a file replay reads (64 MiB).
const maxLine = 64 << 20

// ReadRequests reads the requests of an export (standin export) or a raw
// capture, or of a mix of both, and returns them in the order they were
// sent: by their At time where every request has one, in file order
// otherwise. A line of an export is a Record, each attempt of each of its
// deliveries one request; a line of a raw capture is a Request: an object
// with "method", "headers" (a name to a list of values, or to one value),
// "body" (the exact body as a JSON string, or "body_base64") and optionally
// "url" or "path" and "at" (RFC 3339). Blank lines are skipped.
func ReadRequests(r io.Reader) ([]Item, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var items []Item
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var probe struct {
			Event      json.RawMessage `json:"event"`
			Deliveries json.RawMessage `json:"deliveries"`
		}
		if err := json.Unmarshal(line, &probe); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if probe.Deliveries != nil {
			var rec Record
			if err := json.Unmarshal(line, &rec); err != nil {
				return nil, fmt.Errorf("line %d: export record: %w", n, err)
			}
			for _, d := range rec.Deliveries {
				for _, a := range d.Attempts {
					items = append(items, Item{
						Label: fmt.Sprintf("%s %s attempt %d", rec.Event.Name, d.ID, a.Number),
						Event: rec.Event.Name, DeliveryID: d.ID, Attempt: a.Number,
						Request: a.Request, Signing: d.Signing,
					})
				}
			}
			continue
		}
		req, err := readCaptured(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		items = append(items, Item{Label: fmt.Sprintf("line %d", n), Request: req})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(items, func(it Item) bool { return it.Request.At == nil }) {
		slices.SortStableFunc(items, func(a, b Item) int { return a.Request.At.Compare(*b.Request.At) })
	}
	return items, nil
}

// readCaptured reads a raw capture line, whose headers may map a name to a
// single string.
func readCaptured(line []byte) (Request, error) {
	var raw struct {
		Request
		Header map[string]json.RawMessage `json:"headers"`
	}
	if err := json.Unmarshal(line, &raw); err != nil {
		return Request{}, fmt.Errorf("raw capture: %w", err)
	}
	req := raw.Request
	req.Header = make(http.Header, len(raw.Header))
	for name, v := range raw.Header {
		var list []string
		if err := json.Unmarshal(v, &list); err != nil {
			var one string
			if err := json.Unmarshal(v, &one); err != nil {
				return Request{}, fmt.Errorf("raw capture: header %s: want a string or a list of strings", name)
			}
			list = []string{one}
		}
		req.Header[http.CanonicalHeaderKey(name)] = list
	}
	if req.Method == "" {
		req.Method = http.MethodPost
	}
	return req, nil
}

// ReplayOptions configures Replay.
type ReplayOptions struct {
	// To is the URL every request is sent to. Required.
	To string
	// Secret, when set, re-signs every request with it (see Resign).
	Secret *string
	// Speed scales the original spacing between requests: 2 replays twice
	// as fast. 0 or less sends each request as soon as the previous one
	// was answered (as fast as possible).
	Speed float64
	// Sender makes the requests. Defaults to a zero delivery.Sender.
	Sender *delivery.Sender
	// Wait waits d before a request. Defaults to a timer.
	Wait func(ctx context.Context, d time.Duration) error
}

// Result is what a receiver answered a replayed request.
type Result struct {
	Item     Item
	Response delivery.Response
	// Refused is true when the receiver did not answer 2xx.
	Refused bool
}

// Replay sends items to opts.To in order, keeping their spacing scaled by
// opts.Speed, and calls each with every answer. It returns how many were
// refused (no answer, or not 2xx).
func Replay(ctx context.Context, items []Item, opts ReplayOptions, each func(Result)) (int, error) {
	if opts.To == "" {
		return 0, errors.New("replay: To is required")
	}
	sender := opts.Sender
	if sender == nil {
		sender = &delivery.Sender{}
	}
	wait := opts.Wait
	if wait == nil {
		wait = sleep
	}
	refused := 0
	for i, it := range items {
		if i > 0 && opts.Speed > 0 && it.Request.At != nil && items[i-1].Request.At != nil {
			gap := it.Request.At.Sub(*items[i-1].Request.At)
			if gap > 0 {
				if err := wait(ctx, time.Duration(float64(gap)/opts.Speed)); err != nil {
					return refused, err
				}
			}
		}
		header := it.Request.Header.Clone()
		if opts.Secret != nil {
			var err error
			if header, err = Resign(it, *opts.Secret); err != nil {
				return refused, fmt.Errorf("replay %s: %w", it.Label, err)
			}
		}
		if it.Request.Method != "" && it.Request.Method != http.MethodPost {
			return refused, fmt.Errorf("replay %s: method %s: only POST requests are replayed", it.Label, it.Request.Method)
		}
		resp := sender.Send(ctx, delivery.Request{URL: opts.To, Header: header, Body: it.Request.Bytes()})
		r := Result{Item: it, Response: resp, Refused: resp.Err != nil || resp.Status < 200 || resp.Status > 299}
		if r.Refused {
			refused++
		}
		if each != nil {
			each(r)
		}
		if err := ctx.Err(); err != nil {
			return refused, err
		}
	}
	return refused, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Resign returns it's headers signed again with secret: the signature
// headers of its scheme (the recorded Signing, or the one its headers show:
// X-Fivetran-Signature-256 or webhook-signature) are replaced, the others
// kept. A Standard Webhooks request keeps its webhook-id and timestamp.
func Resign(it Item, secret string) (http.Header, error) {
	header := it.Request.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	var s delivery.Signing
	switch {
	case it.Signing != nil:
		s = *it.Signing
	case header.Get(delivery.HeaderWebhookSignature) != "":
		s = delivery.Signing{Scheme: delivery.SchemeStandard}
	case header.Get(delivery.HeaderFivetranSignature) != "":
		v := header.Get(delivery.HeaderFivetranSignature)
		s = delivery.Signing{Scheme: delivery.SchemeFivetran, LowerHex: v != strings.ToUpper(v)}
	default:
		return nil, errors.New("re-sign: no signature header shows the scheme (X-Fivetran-Signature-256 or webhook-signature)")
	}
	var at time.Time
	if ts := header.Get(delivery.HeaderWebhookTimestamp); ts != "" {
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("re-sign: webhook-timestamp %q: %w", ts, err)
		}
		at = time.Unix(sec, 0)
	} else if it.Request.At != nil {
		at = *it.Request.At
	}
	signed, err := s.Headers(secret, it.Request.Bytes(), header.Get(delivery.HeaderWebhookID), at)
	if err != nil {
		return nil, fmt.Errorf("re-sign: %w", err)
	}
	for name, v := range signed {
		header[name] = v
	}
	return header, nil
}

// Captured returns a request as a receiver received it, for a raw capture
// line (standin listen --capture).
func Captured(method, path string, header http.Header, body []byte, at time.Time) Request {
	b, b64 := bodyFields(body)
	at = at.UTC()
	return Request{Method: method, Path: path, Header: header.Clone(), Body: b, BodyBase64: b64, At: &at}
}
