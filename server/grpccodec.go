package server

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the "proto" codec wrapped below
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
)

// requestCodec is the gRPC server's codec: protobuf, except that a request
// that does not decode is reported as InvalidArgument rather than gRPC's
// fixed "Internal: failed to unmarshal". gRPC turns any Unmarshal error into
// Internal, so Unmarshal instead succeeds, leaving the message empty, and
// remembers the message as malformed; the first interceptor (unary) or the
// stream's RecvMsg (streams) then refuses it with InvalidArgument before any
// handler sees it.
type requestCodec struct {
	proto     encoding.CodecV2
	malformed sync.Map // message pointer -> decode error
}

func newRequestCodec() *requestCodec {
	return &requestCodec{proto: encoding.GetCodecV2("proto")}
}

// Name is the codec's content-subtype, the same as gRPC's protobuf codec.
func (c *requestCodec) Name() string { return c.proto.Name() }

// Marshal encodes a response with the protobuf codec.
func (c *requestCodec) Marshal(v any) (mem.BufferSlice, error) { return c.proto.Marshal(v) }

// Unmarshal decodes a request with the protobuf codec and marks v malformed
// when it does not decode.
func (c *requestCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if err := c.proto.Unmarshal(data, v); err != nil {
		c.malformed.Store(v, err)
	}
	return nil
}

// check returns an InvalidArgument status when v was marked malformed (and
// forgets the mark), nil otherwise.
func (c *requestCodec) check(v any) error {
	if err, ok := c.malformed.LoadAndDelete(v); ok {
		return status.Errorf(codes.InvalidArgument, "The request message is not valid protobuf for this method: %v", err)
	}
	return nil
}

// unary is the first unary interceptor: it refuses a malformed request.
func (c *requestCodec) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := c.check(req); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// stream is the first stream interceptor: RecvMsg refuses a malformed
// message.
func (c *requestCodec) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &checkedStream{ServerStream: ss, codec: c})
}

type checkedStream struct {
	grpc.ServerStream
	codec *requestCodec
}

func (s *checkedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.codec.check(m)
}

// authTap is the gRPC server's InTapHandle: it checks the credentials of a
// call from its headers, before gRPC reads or decodes the request message,
// so a caller without credentials gets Unauthenticated whatever it sends.
// Health and reflection need none.
func (a *API) authTap(ctx context.Context, info *tap.Info) (context.Context, error) {
	if a.creds == nil || authExempt(info.FullMethodName) {
		return ctx, nil
	}
	if err := a.creds.checkAuthorization(info.Header.Get("authorization")); err != nil {
		return ctx, a.status(ctx, err)
	}
	return ctx, nil
}
