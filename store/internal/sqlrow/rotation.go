package sqlrow

import (
	"encoding/json"
	"fmt"

	"github.com/standin-dev/standin/delivery"
)

// EncodeRotation returns the JSON document stored for a webhook's secret
// rotation; nil or one without a previous secret is nil (NULL).
func EncodeRotation(r *delivery.Rotation) (any, error) {
	if r == nil || r.PreviousSecret == "" {
		return nil, nil
	}
	out := *r
	out.Until = Time(out.Until)
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode secret rotation: %w", err)
	}
	return string(b), nil
}

// DecodeRotation parses a stored secret rotation; empty (NULL) is nil.
func DecodeRotation(b []byte) (*delivery.Rotation, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var r delivery.Rotation
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode secret rotation: %w", err)
	}
	r.Until = r.Until.UTC()
	return &r, nil
}
