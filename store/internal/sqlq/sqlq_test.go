package sqlq

import (
	"strings"
	"testing"
	"time"
)

func TestRebind(t *testing.T) {
	numbered := &Dialect{Numbered: true}
	q := `SELECT a FROM t WHERE id = ? AND (b, c) < (?, ?) LIMIT ?`
	if got, want := numbered.Rebind(q), `SELECT a FROM t WHERE id = $1 AND (b, c) < ($2, $3) LIMIT $4`; got != want {
		t.Fatalf("Rebind = %q, want %q", got, want)
	}
	if got := numbered.Rebind(q); !strings.Contains(got, "$4") {
		t.Fatalf("cached Rebind = %q", got)
	}
	if got := (&Dialect{}).Rebind(q); got != q {
		t.Fatalf("Rebind without numbering = %q, want the query unchanged", got)
	}
}

func TestArgs(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6789, time.UTC)
	for _, tc := range []struct {
		d    *Dialect
		want string
		at   any
	}{
		{&Dialect{Time: func(t time.Time) any { return t.UnixMicro() }}, "a = ?, b = ?, c = ?", at.UnixMicro()},
		{&Dialect{Numbered: true, JSONCast: "::jsonb", Time: func(t time.Time) any { return t }}, "a = $1, b = $2::jsonb, c = $3", at},
	} {
		a := tc.d.Args()
		got := "a = " + a.Add("x") + ", b = " + a.JSON(`{}`) + ", c = " + a.Time(at)
		if got != tc.want {
			t.Errorf("text = %q, want %q", got, tc.want)
		}
		list := a.List()
		if len(list) != 3 || list[0] != "x" || list[1] != `{}` || list[2] != tc.at {
			t.Errorf("args = %#v", list)
		}
	}
}

func TestNullTime(t *testing.T) {
	want := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	var n NullTime
	if err := n.Scan(want.UnixMicro()); err != nil || !n.Valid || !n.Time.Equal(want) || n.Time.Location() != time.UTC {
		t.Fatalf("Scan(micros) = %v, %+v", err, n)
	}
	if err := n.Scan(want.In(time.FixedZone("x", 3600))); err != nil || !n.Time.Equal(want) || n.Time.Location() != time.UTC {
		t.Fatalf("Scan(time) = %v, %+v", err, n)
	}
	if p := n.Ptr(); p == nil || !p.Equal(want) {
		t.Fatalf("Ptr = %v", p)
	}
	if err := n.Scan(nil); err != nil || n.Valid || n.Ptr() != nil {
		t.Fatalf("Scan(nil) = %v, %+v", err, n)
	}
	if err := n.Scan("2026-01-02"); err == nil {
		t.Fatal("Scan(string) succeeded")
	}
}
