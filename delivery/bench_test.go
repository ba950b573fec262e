package delivery

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Micro-benchmarks of the per-delivery work: building a body (once per
// delivery, at emit), signing it (once per attempt) and sending it over
// loopback. End-to-end figures come from cmd/standin-bench (`make bench`).
//
//	go test -run '^$' -bench . -benchmem ./delivery/

// BenchmarkBuildProfiles builds sync_end for each profile, with the data
// object the API passes through (Fivetran) or the status (Portable).
func BenchmarkBuildProfiles(b *testing.B) {
	for _, p := range []Profile{ProfileFivetran, ProfilePortable} {
		b.Run(string(p), func(b *testing.B) {
			src := Source{
				Event:   EventSyncEnd,
				Created: fixedCreated,
				SyncID:  fixedSyncID,
				Data:    []byte(`{"bench_seq":"12345","bench_sent":"1779408368638912000","status":"SUCCESSFUL"}`),
			}.Defaults(p)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Build(p, src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSigningHeaders signs a real capture with every scheme.
func BenchmarkSigningHeaders(b *testing.B) {
	body := []byte(realCapture)
	at := fixedCreated
	for _, tc := range []struct {
		name string
		s    Signing
	}{
		{"fivetran", Signing{}},
		{"hmac-sha512-base64", Signing{Scheme: SchemeHMAC, Algorithm: "SHA512"}},
		{"token", Signing{Scheme: SchemeToken, Header: "X-Token"}},
		{"standard", Signing{Scheme: SchemeStandard}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			secret := vectorSecret
			if tc.s.Scheme == SchemeStandard {
				secret = swSecret
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := tc.s.Headers(secret, body, "msg_1", at); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSignAndSend signs and POSTs one delivery to a loopback receiver
// with the zero Sender (keep-alive reuse), sequentially and in parallel.
func BenchmarkSignAndSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	body := []byte(realCapture)
	var signing Signing
	send := func(b *testing.B, s *Sender) {
		h, err := signing.Headers(vectorSecret, body, "", time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		if resp := s.Send(context.Background(), Request{URL: srv.URL, Header: h, Body: body}); !resp.OK(ProfileFivetran) {
			b.Fatal(fmt.Sprint(resp.Status, resp.Err))
		}
	}
	b.Run("serial", func(b *testing.B) {
		s := &Sender{}
		b.ReportAllocs()
		for b.Loop() {
			send(b, s)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		s := &Sender{}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				send(b, s)
			}
		})
	})
}
