package sqlq

import (
	"encoding/json"
	"fmt"

	"github.com/standin-dev/standin/delivery"
)

// EncodeFaults is the stored form of a webhook's or a delivery's faults:
// their JSON, or "" when they ask for nothing.
func EncodeFaults(f delivery.Faults) string {
	if f.IsZero() {
		return ""
	}
	b, err := json.Marshal(f)
	if err != nil { // a struct of numbers and strings always encodes
		panic(fmt.Sprintf("encode faults: %v", err))
	}
	return string(b)
}

// DecodeFaults reads the stored form of faults ("" is none).
func DecodeFaults(s string) (delivery.Faults, error) {
	var f delivery.Faults
	if s == "" {
		return f, nil
	}
	if err := json.Unmarshal([]byte(s), &f); err != nil {
		return f, fmt.Errorf("decode faults %q: %w", s, err)
	}
	return f, nil
}
