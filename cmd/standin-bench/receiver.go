package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// receiver is the fast local webhook receiver the benchmark points standin
// at. It serves every scenario: the current sink decides what a request is
// (its key) and whether it is answered 200 or 500.
type receiver struct {
	URL  string
	srv  *http.Server
	sink atomic.Pointer[sink]
	// conns counts the TCP connections accepted: with keep-alive reuse it
	// stays near the sender's concurrency.
	conns atomic.Int64
}

func startReceiver() (*receiver, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{URL: "http://" + lis.Addr().String()}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				r.conns.Add(1)
			}
		}}
	go func() { _ = r.srv.Serve(lis) }()
	return r, nil
}

func (r *receiver) Close() { _ = r.srv.Close() }

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// ServeHTTP implements http.Handler.
func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	_, _ = buf.ReadFrom(req.Body)
	s := r.sink.Load()
	if s == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(s.receive(req.URL.Path, buf.Bytes(), now))
}

// sink counts what arrives during one scenario. Keys are 0..n-1: the
// event's bench_seq (from the body), or with byPath the number after the
// last slash of the request path (one webhook per key).
type sink struct {
	n         int
	byPath    bool
	failFirst bool // answer a key's first request 500, later ones 200

	counts   []atomic.Int32
	lat      []int64 // ns from the emit's send time to receipt, first success only
	ok       atomic.Int64
	requests atomic.Int64
	bad      atomic.Int64 // requests without a usable key
	first    atomic.Int64 // unix ns of the first request
	last     atomic.Int64 // unix ns of the request that completed the set
	done     chan struct{}
}

func newSink(n int, byPath, failFirst bool) *sink {
	return &sink{
		n:         n,
		byPath:    byPath,
		failFirst: failFirst,
		counts:    make([]atomic.Int32, n),
		lat:       make([]int64, n),
		done:      make(chan struct{}),
	}
}

func (s *sink) receive(path string, body []byte, now time.Time) int {
	s.requests.Add(1)
	s.first.CompareAndSwap(0, now.UnixNano())
	var key int
	var err error
	if s.byPath {
		key, err = strconv.Atoi(path[strings.LastIndexByte(path, '/')+1:])
	} else {
		key, err = field(body, `"bench_seq":"`)
	}
	if err != nil || key < 0 || key >= s.n {
		s.bad.Add(1)
		return http.StatusBadRequest
	}
	c := s.counts[key].Add(1)
	if s.failFirst && c == 1 {
		return http.StatusInternalServerError
	}
	success := int32(1)
	if s.failFirst {
		success = 2
	}
	if c != success {
		return http.StatusOK // a duplicate: at-least-once
	}
	if sent, err := field(body, `"bench_sent":"`); err == nil {
		s.lat[key] = now.UnixNano() - int64(sent)
	}
	if s.ok.Add(1) == int64(s.n) {
		s.last.Store(now.UnixNano())
		close(s.done)
	}
	return http.StatusOK
}

// wait returns nil when every key has succeeded, or ctx's error.
func (s *sink) wait(ctx context.Context) error {
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// duplicates counts successful requests beyond one per key.
func (s *sink) duplicates() int {
	success := int32(1)
	if s.failFirst {
		success = 2
	}
	d := 0
	for i := range s.counts {
		if c := s.counts[i].Load(); c > success {
			d += int(c - success)
		}
	}
	return d
}

var errNoField = errors.New("field not found")

// field returns the decimal number in the JSON string that follows prefix.
func field(body []byte, prefix string) (int, error) {
	i := bytes.Index(body, []byte(prefix))
	if i < 0 {
		return 0, errNoField
	}
	rest := body[i+len(prefix):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return 0, errNoField
	}
	return strconv.Atoi(string(rest[:j]))
}

// discard drains and closes a response body so its connection is reused.
func discard(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, rc)
	_ = rc.Close()
}
