package server_test

import (
	"context"
	"encoding/base64"
	"net"
	"slices"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/store"
)

// startGRPC serves e's API over gRPC on 127.0.0.1:0 and returns a client
// connection.
func startGRPC(t *testing.T, e *testEnv) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := e.api.GRPCServer()
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func basicAuth(ctx context.Context, key, secret string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization",
		"Basic "+base64.StdEncoding.EncodeToString([]byte(key+":"+secret)))
}

// reason returns the ErrorInfo reason of a status error.
func reason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

func TestGRPC(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAuth("key", "secret"), skipURLCheck)
	conn := startGRPC(t, e)
	ctx := context.Background()

	// Reflection and health need no credentials.
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("reflection: %v", err)
	}
	var services []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		services = append(services, s.GetName())
	}
	_ = stream.CloseSend()
	for _, want := range []string{
		"standin.v1.WebhookService", "standin.v1.EventService", "standin.v1.DeliveryService",
		"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
	} {
		if !slices.Contains(services, want) {
			t.Errorf("reflection lists %v, missing %s", services, want)
		}
	}
	health := healthpb.NewHealthClient(conn)
	if hr, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: "standin.v1.WebhookService"}); err != nil || hr.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health: %v %v", hr, err)
	}

	// Everything else does.
	webhooks := standinv1.NewWebhookServiceClient(conn)
	req := &standinv1.CreateAccountWebhookRequest{Webhook: &standinv1.WebhookSpec{
		Url: "http://127.0.0.1:1/hook", Events: []string{"sync_end"}, Secret: "s",
	}}
	_, err = webhooks.CreateAccountWebhook(ctx, req)
	if status.Code(err) != codes.Unauthenticated || reason(err) != "Unauthorized" {
		t.Errorf("no credentials: %v (reason %q)", err, reason(err))
	}
	_, err = webhooks.CreateAccountWebhook(basicAuth(ctx, "key", "nope"), req)
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("wrong credentials: %v", err)
	}
	authed := basicAuth(ctx, "key", "secret")
	created, err := webhooks.CreateAccountWebhook(authed, req)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.GetCode() != "Success" || created.GetData().GetSecret() != "******" || !created.GetData().GetActive() {
		t.Errorf("created %v", created)
	}
	id := created.GetData().GetId()

	// Without an update mask, the populated fields change.
	updated, err := webhooks.UpdateWebhook(authed, &standinv1.UpdateWebhookRequest{
		Id: id, Webhook: &standinv1.WebhookSpec{Active: proto.Bool(false)},
	})
	if err != nil || updated.GetData().GetActive() || updated.GetData().GetUrl() != "http://127.0.0.1:1/hook" {
		t.Errorf("update: %v %v", updated, err)
	}

	_, err = webhooks.GetWebhook(authed, &standinv1.GetWebhookRequest{Id: "no_such"})
	if status.Code(err) != codes.NotFound || reason(err) != "NotFound_Webhook" ||
		status.Convert(err).Message() != "Cannot find entity 'Webhook' with id 'no_such'" {
		t.Errorf("get unknown: %v (reason %q)", err, reason(err))
	}
	_, err = webhooks.CreateGroupWebhook(authed, &standinv1.CreateGroupWebhookRequest{Webhook: req.GetWebhook()})
	if status.Code(err) != codes.InvalidArgument || reason(err) != "InvalidInput" {
		t.Errorf("group without id: %v", err)
	}

	emitted, err := standinv1.NewEventServiceClient(conn).EmitEvent(authed, &standinv1.EmitEventRequest{Event: "sync_end"})
	if err != nil || len(emitted.GetData().GetDeliveries()) != 0 { // the only webhook is inactive now
		t.Errorf("emit: %v %v", emitted, err)
	}

	// SetServing(false) is seen by gRPC health and /healthz.
	e.api.SetServing(false)
	if hr, err := health.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || hr.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health after SetServing(false): %v %v", hr, err)
	}
	if r := e.doWith("GET", "/healthz", "", nil); r.status != 503 || string(r.body) != `{"status":"NOT_SERVING"}` {
		t.Errorf("healthz after SetServing(false): %d %s", r.status, r.body)
	}
}

// TestGRPCEmitEvents emits a batch over gRPC and checks that refusals are
// InvalidArgument with the index of the event at fault.
func TestGRPCEmitEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, skipURLCheck)
	wh := e.createWebhook("/v1/webhooks/account", `{"url":"http://127.0.0.1:1/hook","events":["sync_end"]}`)
	events := standinv1.NewEventServiceClient(startGRPC(t, e))
	ctx := context.Background()

	resp, err := events.EmitEvents(ctx, &standinv1.EmitEventsRequest{Events: []*standinv1.EmitEventRequest{
		{Event: "sync_end", Status: "FAILURE"},
		{Event: "sync_start"},
		{Event: "sync_end", GroupId: "g1"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	items := resp.GetData().GetItems()
	if resp.GetCode() != "Success" || resp.GetMessage() != "Events have been emitted" || len(items) != 3 {
		t.Fatalf("EmitEvents: %v", resp)
	}
	for i, want := range []int{1, 0, 1} {
		ds := items[i].GetDeliveries()
		if len(ds) != want || (want == 1 && ds[0].GetWebhookId() != wh) {
			t.Errorf("item %d: %v, want %d deliveries to %s", i, items[i], want, wh)
		}
	}

	_, err = events.EmitEvents(ctx, &standinv1.EmitEventsRequest{Events: []*standinv1.EmitEventRequest{
		{Event: "sync_end"}, {Event: "sync_end"}, {Event: "nope"},
	}})
	if status.Code(err) != codes.InvalidArgument || reason(err) != "InvalidInput" || status.Convert(err).Message() != "events[2]: Invalid event 'nope'" {
		t.Errorf("invalid event: %v (reason %q)", err, reason(err))
	}
	_, err = events.EmitEvents(ctx, &standinv1.EmitEventsRequest{})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("no events: %v", err)
	}
	if n, err := e.store.EventList(ctx, store.EventListParams{Limit: 10}); err != nil || len(n) != 3 {
		t.Errorf("%d events stored (%v), want 3", len(n), err)
	}
}
