package export

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// TimelineRow is one attempt on its delivery's timeline: the emulated
// offset the schedule planned it for, and the real time it happened.
type TimelineRow struct {
	DeliveryID string `json:"delivery_id"`
	Event      string `json:"event"`
	WebhookID  string `json:"webhook_id"`
	Attempt    int    `json:"attempt"`
	Manual     bool   `json:"manual"`
	// PlannedOffsetMS is the emulated offset from the delivery's first
	// attempt that the schedule planned (0, 360000, 1656000, … for
	// Fivetran), in milliseconds.
	PlannedOffsetMS float64 `json:"planned_offset_ms"`
	// ActualOffsetMS is the real time from the delivery's first attempt to
	// this one, in milliseconds: under a time scale N it is about
	// PlannedOffsetMS/N.
	ActualOffsetMS float64   `json:"actual_offset_ms"`
	StartedAt      time.Time `json:"started_at"`
	Status         int       `json:"status"`
	Succeeded      bool      `json:"succeeded"`
	Error          string    `json:"error,omitempty"`
}

// timelineColumns is the CSV header of a timeline.
var timelineColumns = []string{"delivery_id", "event", "webhook_id", "attempt", "manual",
	"planned_offset_ms", "actual_offset_ms", "started_at", "status", "succeeded", "error"}

// Timeline returns the timeline rows of rec, delivery by delivery.
func Timeline(rec *Record) []TimelineRow {
	var rows []TimelineRow
	for _, d := range rec.Deliveries {
		var first time.Time
		for i, a := range d.Attempts {
			if i == 0 {
				first = a.StartedAt
			}
			rows = append(rows, TimelineRow{
				DeliveryID: d.ID, Event: rec.Event.Name, WebhookID: d.WebhookID,
				Attempt: a.Number, Manual: a.Manual,
				PlannedOffsetMS: a.EmulatedDelayMS, ActualOffsetMS: ms(a.StartedAt.Sub(first)),
				StartedAt: a.StartedAt, Status: a.Response.Status, Succeeded: a.Response.Succeeded, Error: a.Response.Error,
			})
		}
	}
	return rows
}

// TimelineFormat is a format of WriteTimeline.
type TimelineFormat string

// Timeline formats.
const (
	TimelineCSV  TimelineFormat = "csv"
	TimelineJSON TimelineFormat = "json"
)

// WriteTimeline writes the timeline of the events f selects: CSV with a
// header line, or a JSON array of TimelineRow.
func WriteTimeline(ctx context.Context, st Store, w io.Writer, f Filter, format TimelineFormat) error {
	switch format {
	case TimelineCSV:
		cw := csv.NewWriter(w)
		if err := cw.Write(timelineColumns); err != nil {
			return fmt.Errorf("export timeline: %w", err)
		}
		err := Records(ctx, st, f, func(rec *Record) error {
			for _, r := range Timeline(rec) {
				if err := cw.Write(r.csv()); err != nil {
					return fmt.Errorf("export timeline: %w", err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	case TimelineJSON:
		sep := "["
		err := Records(ctx, st, f, func(rec *Record) error {
			for _, r := range Timeline(rec) {
				b, err := json.Marshal(r)
				if err != nil {
					return err
				}
				if _, err := fmt.Fprintf(w, "%s\n%s", sep, b); err != nil {
					return fmt.Errorf("export timeline: %w", err)
				}
				sep = ","
			}
			return nil
		})
		if err != nil {
			return err
		}
		if sep == "[" {
			_, err = io.WriteString(w, "[]\n")
		} else {
			_, err = io.WriteString(w, "\n]\n")
		}
		return err
	}
	return fmt.Errorf("export timeline: format %q: want csv or json", format)
}

func (r TimelineRow) csv() []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	return []string{r.DeliveryID, r.Event, r.WebhookID, strconv.Itoa(r.Attempt), strconv.FormatBool(r.Manual),
		f(r.PlannedOffsetMS), f(r.ActualOffsetMS), r.StartedAt.Format(time.RFC3339Nano),
		strconv.Itoa(r.Status), strconv.FormatBool(r.Succeeded), r.Error}
}
