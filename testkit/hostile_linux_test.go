package testkit_test

import (
	"errors"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/standin-dev/standin/testkit"
)

// fullBacklog returns the address of a TCP socket on 127.0.0.1 that listens
// with a backlog of 0, never accepts, and whose accept queue is already full,
// so Linux drops every new SYN: connecting hangs until the dial times out.
func fullBacklog(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "backlog")
	t.Cleanup(func() { _ = f.Close() })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	// Fill the accept queue until a connection attempt hangs.
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return addr
		}
		if err != nil {
			t.Fatalf("fill the backlog: %v", err)
		}
		t.Cleanup(func() { _ = c.Close() })
	}
	t.Skip("the kernel still completes connections on a full backlog")
	return ""
}

// TestHostileReceiverFullBacklog: a receiver so slow to accept that its
// listen backlog is full. Connecting never completes, so every attempt ends
// at the send timeout with no status, and the delivery is retried over
// the whole 24-hour schedule and then failed.
func TestHostileReceiverFullBacklog(t *testing.T) {
	t.Parallel()
	const (
		scale   = 1e6
		timeout = 300 * time.Millisecond // every attempt times out
	)
	addr := fullBacklog(t)
	sd := testkit.Start(t, testkit.Config{TimeScale: scale, SendTimeout: timeout})

	d, attempts := awaitFinal(t, sd, deliverTo(t, sd, "http://"+addr+"/hook"))
	if d.State != testkit.StateFailed {
		t.Fatalf("state %s, want failed", d.State)
	}
	stuck := wantAttempt{err: timeoutErrors}
	checkAttempts(t, attempts, scale, []wantAttempt{stuck, stuck, stuck, stuck, stuck, stuck})
	for _, a := range attempts {
		if a.Latency < timeout-20*time.Millisecond {
			t.Errorf("attempt %d ended after %v, before the %v timeout", a.Number, a.Latency, timeout)
		}
	}
}
