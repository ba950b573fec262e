package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
)

// restRoutes lists every method and path of the OpenAPI document, path
// parameters filled with "x", plus the paths served outside the gateway
// routes.
func restRoutes(t *testing.T) [][2]string {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(standinv1.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{[^}]+\}`)
	routes := [][2]string{{"GET", "/standin/v1/openapi.json"}, {"GET", "/v1/no-such-route"}, {"POST", "/"}}
	for path, methods := range doc.Paths {
		for method := range methods {
			routes = append(routes, [2]string{strings.ToUpper(method), param.ReplaceAllString(path, "x")})
		}
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i][1]+routes[i][0] < routes[j][1]+routes[j][0] })
	return routes
}

// TestAuthOnEveryRoute: with credentials configured, every REST route of
// the OpenAPI document (the emulator API and the document itself included,
// and routes added later automatically) and every gRPC method of every
// registered service answers 401 / Unauthenticated without them and with
// wrong ones; only /healthz and gRPC health and reflection stay open.
func TestAuthOnEveryRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAuth("key", "secret"), skipURLCheck)
	routes := restRoutes(t)
	if len(routes) < 10 {
		t.Fatalf("only %d routes found in the OpenAPI document", len(routes))
	}
	for _, rt := range routes {
		for name, prep := range map[string]func(*http.Request){
			"none":  func(*http.Request) {},
			"wrong": func(r *http.Request) { r.SetBasicAuth("key", "Secret") },
		} {
			r := e.doWith(rt[0], rt[1], `{}`, prep)
			var env map[string]any
			decode(t, r.body, &env)
			if r.status != 401 || env["code"] != "Unauthorized" || r.header.Get("WWW-Authenticate") != `Basic realm="standin"` {
				t.Errorf("%s %s with %s credentials: %d %s", rt[0], rt[1], name, r.status, r.body)
			}
		}
		// With the right credentials, authentication is not what stops it.
		if r := e.do(rt[0], rt[1], `{}`); r.status == 401 {
			t.Errorf("%s %s with the right credentials: %d %s", rt[0], rt[1], r.status, r.body)
		}
	}
	if r := e.doWith("GET", "/healthz", "", nil); r.status != 200 {
		t.Errorf("healthz without credentials: %d %s", r.status, r.body)
	}

	conn := startGRPC(t, e)
	ctx := context.Background()
	var checked int
	for service, info := range e.api.GRPCServer().GetServiceInfo() {
		open := service == "grpc.health.v1.Health" || strings.HasPrefix(service, "grpc.reflection.")
		for _, m := range info.Methods {
			method := "/" + service + "/" + m.Name
			call := func(ctx context.Context) error {
				if !m.IsClientStream && !m.IsServerStream {
					return conn.Invoke(ctx, method, &emptypb.Empty{}, &emptypb.Empty{})
				}
				stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: m.IsClientStream, ServerStreams: m.IsServerStream}, method)
				if err != nil {
					return err
				}
				if err := stream.SendMsg(&emptypb.Empty{}); err != nil {
					return stream.RecvMsg(&emptypb.Empty{})
				}
				_ = stream.CloseSend()
				return stream.RecvMsg(&emptypb.Empty{})
			}
			cctx, cancel := context.WithCancel(ctx)
			err := call(cctx)
			cancel()
			switch {
			case open && status.Code(err) == codes.Unauthenticated:
				t.Errorf("%s needs credentials; health and reflection must stay open", method)
			case !open && (status.Code(err) != codes.Unauthenticated || reason(err) != "Unauthorized"):
				t.Errorf("%s without credentials: %v, want Unauthenticated", method, err)
			}
			if !open {
				checked++
				if err := call(basicAuth(ctx, "key", "wrong")); status.Code(err) != codes.Unauthenticated {
					t.Errorf("%s with wrong credentials: %v", method, err)
				}
				if err := call(basicAuth(ctx, "key", "secret")); status.Code(err) == codes.Unauthenticated {
					t.Errorf("%s with the right credentials: %v", method, err)
				}
			}
		}
	}
	if checked < 9 {
		t.Errorf("only %d gRPC methods checked", checked)
	}
}

// TestGRPCMessageLimit: the gRPC API refuses a request larger than
// MaxBodyBytes, as REST does, and nothing is stored.
func TestGRPCMessageLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, skipURLCheck)
	client := standinv1.NewWebhookServiceClient(startGRPC(t, e))
	_, err := client.CreateAccountWebhook(context.Background(), &standinv1.CreateAccountWebhookRequest{Webhook: &standinv1.WebhookSpec{
		Url: "http://127.0.0.1:1/h", Events: []string{"sync_end"}, Secret: strings.Repeat("s", 1<<20),
	}})
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("a 1 MiB secret over gRPC: %v, want ResourceExhausted", err)
	}
	if n := e.webhookCount(); n != 0 {
		t.Errorf("%d webhooks stored", n)
	}
}
