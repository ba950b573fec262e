package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// apiClient calls a standin process's REST API.
type apiClient struct {
	base string
	hc   *http.Client
}

func newAPIClient(base string, conns int) *apiClient {
	return &apiClient{
		base: base,
		hc: &http.Client{
			Timeout: 30 * time.Second,
			Transport: &http.Transport{
				Proxy:               nil,
				MaxIdleConns:        conns,
				MaxIdleConnsPerHost: conns,
				IdleConnTimeout:     90 * time.Second,
				DisableCompression:  true,
			},
		},
	}
}

func (c *apiClient) close() { c.hc.CloseIdleConnections() }

// post sends body and fails unless the answer is a Fivetran "Success"
// envelope; it returns the raw response.
func (c *apiClient) post(ctx context.Context, path string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 || !bytes.Contains(raw, []byte(`"code":"Success"`)) {
		return nil, fmt.Errorf("POST %s: HTTP %d: %.300s", path, resp.StatusCode, raw)
	}
	return raw, nil
}

// createWebhook creates an active account webhook for sync_end at url.
func (c *apiClient) createWebhook(ctx context.Context, url string) error {
	body, err := json.Marshal(map[string]any{
		"url":    url,
		"events": []string{"sync_end"},
		"active": true,
		"secret": "bench-secret",
	})
	if err != nil {
		return err
	}
	_, err = c.post(ctx, "/v1/webhooks/account", body)
	return err
}

// emit emits one sync_end through POST /standin/v1/events, carrying seq and
// the send time (unix ns) in its data, which the receiver reads back.
func (c *apiClient) emit(ctx context.Context, seq int) error {
	body := appendEvent(make([]byte, 0, 96), seq, time.Now().UnixNano())
	_, err := c.post(ctx, "/standin/v1/events", body)
	return err
}

// emitBatch emits count sync_end events, seq to seq+count-1, in one
// POST /standin/v1/events:batch. Each carries its own seq, as emit's does,
// and the time the batch is sent.
func (c *apiClient) emitBatch(ctx context.Context, seq, count int) error {
	sent := time.Now().UnixNano()
	body := make([]byte, 0, 16+count*96)
	body = append(body, `{"events":[`...)
	for i := range count {
		if i > 0 {
			body = append(body, ',')
		}
		body = appendEvent(body, seq+i, sent)
	}
	body = append(body, `]}`...)
	_, err := c.post(ctx, "/standin/v1/events:batch", body)
	return err
}

// appendEvent appends the JSON of a sync_end whose data holds seq and sent
// (unix ns) as bench_seq and bench_sent.
func appendEvent(body []byte, seq int, sent int64) []byte {
	body = append(body, `{"event":"sync_end","data":{"bench_seq":"`...)
	body = strconv.AppendInt(body, int64(seq), 10)
	body = append(body, `","bench_sent":"`...)
	body = strconv.AppendInt(body, sent, 10)
	return append(body, `"}}`...)
}
