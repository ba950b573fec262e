package server

import "context"

// MaxPageBytes bounds the stored bytes of one page of GET
// /standin/v1/events or /standin/v1/deliveries (4 MiB): a page that reaches
// it ends early, with a next_cursor, however large its limit. A page always
// holds at least one item, so every item can be read.
const MaxPageBytes = 4 << 20

// firstPageChunk is how many rows the first store query of a page reads;
// later queries read as many as the remaining byte budget fits at the size
// of the largest row seen so far, so memory stays near MaxPageBytes however
// large each row is.
const firstPageChunk = 8

// readPage reads up to limit items, newest first, starting after
// beforeID, in store queries of a few rows each (fetch(before, n) returns
// at most n items after before), stopping early once the items' size
// (sizeOf) reaches MaxPageBytes. more reports whether items follow the
// last one returned.
func readPage[T any](ctx context.Context, limit int, beforeID string,
	fetch func(ctx context.Context, beforeID string, n int) ([]T, error),
	idOf func(T) string, sizeOf func(T) int,
) (items []T, more bool, err error) {
	total, largest := 0, 0
	for {
		want := limit - len(items)
		n := min(want, firstPageChunk)
		if largest > 0 {
			n = min(want, max(1, (MaxPageBytes-total)/largest))
		}
		chunk, err := fetch(ctx, beforeID, n+1) // one more tells whether there is a next item
		if err != nil {
			return nil, false, err
		}
		for i, it := range chunk {
			if i == n { // the extra row: there is more, read on
				break
			}
			if len(items) > 0 && total >= MaxPageBytes {
				return items, true, nil
			}
			items = append(items, it)
			size := sizeOf(it)
			total += size
			largest = max(largest, size)
		}
		switch {
		case len(chunk) <= n: // the store has no more
			return items, false, nil
		case len(items) == limit || total >= MaxPageBytes:
			return items, true, nil
		}
		beforeID = idOf(items[len(items)-1])
	}
}
