package delivery

import (
	"fmt"
	"math"
	"time"
)

// DefaultTimeScale is the time scale when none is given: emulated time
// passes as fast as real time.
const DefaultTimeScale = 1.0

// The range of TimeScale settings standin accepts (besides 0, the
// default): from a thousandth of real speed to a million times it, which runs
// Fivetran's 24-hour schedule in under 0.1 s. Values outside it are more
// likely typos than intent (1e-300 ran the schedule in seconds through
// rounding).
const (
	MinTimeScale = 0.001
	MaxTimeScale = 1e6
)

// Timeline converts between emulated and real durations. With Scale N, N
// emulated seconds pass per real second, so Fivetran's 24-hour retry
// schedule takes 24h/N of real time. The zero Timeline runs at
// DefaultTimeScale.
type Timeline struct {
	// Scale is emulated seconds per real second. 0 means DefaultTimeScale;
	// NewTimeline refuses anything else that is not a finite number above
	// 0, and a Timeline built directly with such a Scale runs at
	// DefaultTimeScale.
	Scale float64
}

// NewTimeline returns the Timeline of a configured TimeScale: 0 means
// DefaultTimeScale; a negative, NaN or infinite scale is an error that names
// the TimeScale setting.
func NewTimeline(scale float64) (Timeline, error) {
	if err := ValidateTimeScale(scale); err != nil {
		return Timeline{}, err
	}
	return Timeline{Scale: Timeline{Scale: scale}.TimeScale()}, nil
}

// ValidateTimeScale reports whether scale is a TimeScale setting standin
// accepts: 0 (the default) or a number from MinTimeScale to MaxTimeScale.
// The error names the setting and the allowed values.
func ValidateTimeScale(scale float64) error {
	if scale != 0 && !(scale >= MinTimeScale && scale <= MaxTimeScale) {
		return fmt.Errorf("TimeScale %v: must be from %g to %g (0 means %v)", scale, MinTimeScale, MaxTimeScale, DefaultTimeScale)
	}
	return nil
}

// TimeScale returns the emulated seconds per real second t runs at.
func (t Timeline) TimeScale() float64 {
	if !(t.Scale > 0) || math.IsInf(t.Scale, 0) {
		return DefaultTimeScale
	}
	return t.Scale
}

// Real returns the real duration that an emulated duration takes.
func (t Timeline) Real(emulated time.Duration) time.Duration {
	return time.Duration(math.Round(float64(emulated) / t.TimeScale()))
}

// Emulated returns the emulated duration that passes in a real duration.
func (t Timeline) Emulated(real time.Duration) time.Duration {
	return time.Duration(math.Round(float64(real) * t.TimeScale()))
}
