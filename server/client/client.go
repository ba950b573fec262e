// Package client is a Go client of standin's REST API: Fivetran's webhook
// endpoints and standin's /standin/v1 emulator endpoints, decoding the
// {code,message,data} envelope.
//
// The standin command line and package testkit both use it. Every response is Fivetran's envelope, {"code":"Success","message":…,
// "data":…}. The client decodes data into typed values and turns any other
// code into an *Error carrying the API's code and message.
package client

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// CodeSuccess is the envelope code of every successful response.
const CodeSuccess = "Success"

// maxResponseBytes bounds the response bodies the client reads.
const maxResponseBytes = 64 << 20

// Client calls one standin's REST API. Its methods are safe for concurrent
// use.
type Client struct {
	// BaseURL is the REST base without /v1, e.g. http://127.0.0.1:8080.
	// Required.
	BaseURL string
	// APIKey and APISecret are sent as HTTP Basic credentials when APIKey
	// is set. Defaults to empty: no Authorization header.
	APIKey, APISecret string
	// HTTPClient makes the requests. Defaults to a client with a 30 s
	// timeout.
	HTTPClient *http.Client
	// UserAgent is the User-Agent header. Defaults to "standin-client".
	UserAgent string
}

// defaultHTTPClient is used when Client.HTTPClient is nil.
var defaultHTTPClient = &http.Client{Timeout: 30 * time.Second}

// Error is an answer of the API whose envelope code is not Success. Code and
// Message are the envelope's (for example NotFound_Webhook, "Cannot find
// entity 'Webhook' with id 'x'").
type Error struct {
	// HTTPStatus is the response's HTTP status code.
	HTTPStatus int
	// Code is the envelope's code.
	Code string
	// Message is the envelope's message; it may be empty.
	Message string
}

// Error implements error: "Code: Message (HTTP status)".
func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%s (HTTP %d)", e.Code, e.HTTPStatus)
	}
	return fmt.Sprintf("%s: %s (HTTP %d)", e.Code, e.Message, e.HTTPStatus)
}

// NotFound reports whether the error is a missing entity: its code starts
// with NotFound, the test Fivetran's own Terraform provider uses.
func (e *Error) NotFound() bool { return strings.HasPrefix(e.Code, "NotFound") }

// Response is a successful answer: the envelope's message, its data decoded
// into T, and the data's raw JSON (for printing it unchanged).
type Response[T any] struct {
	// Message is the envelope's message; empty when the API sent none.
	Message string
	// Data is the envelope's data, decoded.
	Data T
	// Raw is the envelope's data exactly as received; nil when absent.
	Raw json.RawMessage
}

// envelope is the body of every response.
type envelope struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// send makes one request to the API at u with the client's credentials and
// user agent; body, when non-nil, is JSON. An unreachable API is an error
// that names its address.
func (c *Client) send(ctx context.Context, method, u string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", cmp.Or(c.UserAgent, "standin-client"))
	if c.APIKey != "" {
		req.SetBasicAuth(c.APIKey, c.APISecret)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("cannot reach standin at %s (is it running?): %w", c.BaseURL, unwrapURLError(err))
	}
	return resp, nil
}

// Do sends one request and decodes the envelope's data into out (when out
// is non-nil and the response has data). in, when non-nil, is sent as the
// JSON body; query is added to the URL. A non-Success envelope is returned
// as an *Error; a response that is no envelope, or no response at all, is an
// error naming the API's address.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, in, out any) (*Response[json.RawMessage], error) {
	u, err := c.url(path, query)
	if err != nil {
		return nil, err
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	resp, err := c.send(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil || env.Code == "" {
		return nil, fmt.Errorf("%s %s: HTTP %d from %s is not a standin API response: %q",
			method, path, resp.StatusCode, c.BaseURL, excerpt(raw))
	}
	if env.Code != CodeSuccess || resp.StatusCode/100 != 2 {
		return nil, &Error{HTTPStatus: resp.StatusCode, Code: env.Code, Message: env.Message}
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		env.Data = nil
	}
	if out != nil && env.Data != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return nil, fmt.Errorf("%s %s: decode data: %w", method, path, err)
		}
	}
	return &Response[json.RawMessage]{Message: env.Message, Data: env.Data, Raw: env.Data}, nil
}

// call is Do decoding into a Response[T].
func call[T any](ctx context.Context, c *Client, method, path string, query url.Values, in any) (*Response[T], error) {
	out := &Response[T]{}
	r, err := c.Do(ctx, method, path, query, in, &out.Data)
	if err != nil {
		return nil, err
	}
	out.Message, out.Raw = r.Message, r.Raw
	return out, nil
}

func (c *Client) url(path string, query url.Values) (string, error) {
	if c.BaseURL == "" {
		return "", errors.New("client: BaseURL is empty")
	}
	base, err := url.Parse(strings.TrimRight(c.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return "", fmt.Errorf("invalid API URL %q: want http://host:port", c.BaseURL)
	}
	u := base.String() + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u, nil
}

// unwrapURLError drops *url.Error's "Post \"…\":" prefix, which repeats the
// address the message already names.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func excerpt(b []byte) string {
	const limit = 200
	s := strings.TrimSpace(string(b))
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return s
}

// pathID escapes one path segment.
func pathID(id string) string { return url.PathEscape(id) }
