package delivery

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestWordLists(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		words []string
	}{
		{"first", firstWords},
		{"second", secondWords},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if len(tc.words) < 256 {
				t.Fatalf("%d words, want at least 256", len(tc.words))
			}
			seen := make(map[string]bool, len(tc.words))
			for _, w := range tc.words {
				if !regexp.MustCompile(`^[a-z]+$`).MatchString(w) {
					t.Errorf("word %q is not lowercase a-z", w)
				}
				if seen[w] {
					t.Errorf("word %q is listed twice", w)
				}
				seen[w] = true
			}
		})
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	const n = 500
	ids := make(map[string]bool, n)
	for range n {
		id := NewID()
		first, second, ok := strings.Cut(id, "_")
		if !ok || strings.Contains(second, "_") {
			t.Fatalf("NewID() = %q, want two words joined by one _", id)
		}
		if !slices.Contains(firstWords, first) || !slices.Contains(secondWords, second) {
			t.Fatalf("NewID() = %q uses words outside the lists", id)
		}
		ids[id] = true
	}
	// 500 draws from over 160,000 combinations: ~1 collision expected; 10
	// would mean the randomness is broken.
	if len(ids) < n-10 {
		t.Errorf("%d distinct ids out of %d", len(ids), n)
	}
}

func TestNewUUID(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := NewUUID(), NewUUID()
	for _, u := range []string{a, b} {
		if !re.MatchString(u) {
			t.Errorf("NewUUID() = %q, not a version 4 UUID", u)
		}
	}
	if a == b {
		t.Errorf("two NewUUID() calls both returned %q", a)
	}
}
