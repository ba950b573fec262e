package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server/internal/apierr"
)

const contentTypeJSON = "application/json"

// jsonMarshaler is the gateway's only runtime.Marshaler. Responses are
// protojson with proto field names (snake_case) in proto field order, made
// compact with json.Compact (protojson deliberately varies its whitespace).
// Fields without presence are always written, zero values and empty lists
// included ("active":false, "items":[]); proto3 optional fields and unset
// messages are written only when set, which is how the envelope leaves out
// "message", "next_cursor", "group_id" and the emulator extensions.
//
// Requests are read strictly: an unknown field, a value of the wrong type or
// malformed JSON is an InvalidInput error naming the problem.
type jsonMarshaler struct{}

var (
	marshalOptions   = protojson.MarshalOptions{UseProtoNames: true, EmitDefaultValues: true}
	unmarshalOptions = protojson.UnmarshalOptions{DiscardUnknown: false}
)

var _ runtime.Marshaler = jsonMarshaler{}

// Marshal implements runtime.Marshaler.
func (jsonMarshaler) Marshal(v any) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return json.Marshal(v)
	}
	b, err := marshalOptions.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Unmarshal implements runtime.Marshaler. v is a proto.Message or a pointer
// to a nil message pointer (the gateway passes &req.Field for a body field),
// which is allocated.
func (jsonMarshaler) Unmarshal(data []byte, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Pointer {
			return fmt.Errorf("cannot decode into %T", v)
		}
		if rv.Elem().IsNil() {
			rv.Elem().Set(reflect.New(rv.Elem().Type().Elem()))
		}
		if m, ok = rv.Elem().Interface().(proto.Message); !ok {
			return fmt.Errorf("cannot decode into %T", v)
		}
	}
	if err := unmarshalOptions.Unmarshal(data, m); err != nil {
		return &apierr.InputError{Msg: "Invalid request body: " + protoErrorText(err), Err: err}
	}
	keepDataBytes(data, m)
	return nil
}

// keepDataBytes copies the caller's "data" objects of an emit request, byte
// for byte (compacted), into data_json: google.protobuf.Struct, which data
// decodes into, keeps no key order, and a Fivetran body must show the
// caller's (a dbt_run_failed reads as Fivetran's). body decoded into m
// without error.
func keepDataBytes(body []byte, m proto.Message) {
	switch req := m.(type) {
	case *standinv1.EmitEventRequest:
		var raw struct {
			Data json.RawMessage `json:"data"`
		}
		if json.Unmarshal(body, &raw) == nil && req.GetDataJson() == "" {
			req.DataJson = rawObject(raw.Data)
		}
	case *standinv1.EmitEventsRequest:
		var raw struct {
			Events []struct {
				Data json.RawMessage `json:"data"`
			} `json:"events"`
		}
		if json.Unmarshal(body, &raw) != nil || len(raw.Events) != len(req.GetEvents()) {
			return
		}
		for i, ev := range req.GetEvents() {
			if ev.GetDataJson() == "" {
				ev.DataJson = rawObject(raw.Events[i].Data)
			}
		}
	}
}

// rawObject is b compacted when it is a JSON object, "" otherwise (absent,
// null, or another type, which the Struct decoding refuses anyway).
func rawObject(b json.RawMessage) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return ""
	}
	var out bytes.Buffer
	if json.Compact(&out, b) != nil {
		return ""
	}
	return out.String()
}

// NewDecoder implements runtime.Marshaler. An empty (or blank) body decodes
// as io.EOF, which the gateway treats as "no body": every field unset.
func (m jsonMarshaler) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error {
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return io.EOF
		}
		return m.Unmarshal(data, v)
	})
}

// NewEncoder implements runtime.Marshaler.
func (m jsonMarshaler) NewEncoder(w io.Writer) runtime.Encoder {
	return runtime.EncoderFunc(func(v any) error {
		b, err := m.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
}

// ContentType implements runtime.Marshaler.
func (jsonMarshaler) ContentType(any) string { return contentTypeJSON }

// protoErrorText returns a protobuf error's text without its "proto:"
// prefix, whose space protobuf deliberately varies between a normal and a
// non-breaking one.
func protoErrorText(err error) string {
	s := strings.TrimPrefix(err.Error(), "proto:")
	return strings.TrimLeft(s, " \u00a0")
}
