package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Connection and request-read bounds of the HTTP API (see app.Config).
const (
	// DefaultMaxConnections is the default of app.Config.MaxConnections.
	DefaultMaxConnections = 1024
	// DefaultRequestReadTimeout is the default of
	// app.Config.RequestReadTimeout.
	DefaultRequestReadTimeout = 30 * time.Second
	// ReserveConnections is how many connections the HTTP API accepts past
	// app.Config.MaxConnections so that /healthz is answered while the limit is
	// reached: on those, /healthz is served and every other path answers
	// 503 ServiceUnavailable at once; each is closed after one request or
	// ReserveConnectionLifetime, whichever comes first.
	ReserveConnections = 16
	// ReserveConnectionLifetime bounds a reserve connection, headers
	// included.
	ReserveConnectionLifetime = 5 * time.Second
	// requestHeaderTimeout bounds the request line and headers.
	requestHeaderTimeout = 10 * time.Second
	// idleTimeout is how long a keep-alive connection may wait for its next
	// request.
	idleTimeout = 60 * time.Second
)

// connLimiter is a net.Listener that holds at most max connections open at
// once, plus reserve connections for health checks when reserve > 0.
// Accept waits, leaving further connections in the kernel's backlog, while
// every slot is taken, so file descriptors stay bounded.
type connLimiter struct {
	net.Listener
	normal, reserve chan struct{}
	done            chan struct{}
	closeOnce       sync.Once
}

func newConnLimiter(l net.Listener, max, reserve int) *connLimiter {
	return &connLimiter{
		Listener: l,
		normal:   make(chan struct{}, max),
		reserve:  make(chan struct{}, reserve),
		done:     make(chan struct{}),
	}
}

// Accept takes a slot, a normal one when free, and then accepts.
func (l *connLimiter) Accept() (net.Conn, error) {
	isReserve := false
	select {
	case l.normal <- struct{}{}:
	default:
		select {
		case l.normal <- struct{}{}:
		case l.reserve <- struct{}{}:
			isReserve = true
		case <-l.done:
			return nil, net.ErrClosed
		}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		l.release(isReserve)
		return nil, err
	}
	if isReserve { // a normal slot may have freed while Accept waited
		select {
		case l.normal <- struct{}{}:
			l.release(true)
			isReserve = false
		default:
			_ = c.SetDeadline(time.Now().Add(ReserveConnectionLifetime))
		}
	}
	return &limitedConn{Conn: c, limiter: l, reserve: isReserve}, nil
}

func (l *connLimiter) release(isReserve bool) {
	if isReserve {
		<-l.reserve
	} else {
		<-l.normal
	}
}

// Close closes the listener and wakes a waiting Accept.
func (l *connLimiter) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitedConn gives its slot back on Close.
type limitedConn struct {
	net.Conn
	limiter   *connLimiter
	reserve   bool
	closeOnce sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() { c.limiter.release(c.reserve) })
	return err
}

// reserveConnKey marks the context of a request on a reserve connection.
type reserveConnKey struct{}

// connContext is the http.Server's ConnContext: it marks requests on
// reserve connections.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if lc, ok := c.(*limitedConn); ok && lc.reserve {
		return context.WithValue(ctx, reserveConnKey{}, true)
	}
	return ctx
}

// onReserveConn serves /healthz on a reserve connection and answers every
// other request 503 at once, without reading its body, closing the
// connection right after the response.
func onReserveConn(maxConns int, next http.Handler) http.Handler {
	msg := fmt.Sprintf("Too many connections (the limit is %d): retry later", maxConns)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(reserveConnKey{}) == nil {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Connection", "close")
		if r.URL.Path == healthzPath && r.Method == http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Retry-After", "1")
		writeEnvelope(w, http.StatusServiceUnavailable, envelope{Code: codeUnavailable, Message: msg})
		// The server would otherwise read up to 256 KiB of the unread body
		// before closing, holding the reserve slot for as long as a slow
		// client takes to send it: end the reading now.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	})
}

// newHTTPServer returns the http.Server of the REST API with its timeouts.
func newHTTPServer(h http.Handler, maxConns int, readTimeout time.Duration) *http.Server {
	return &http.Server{
		Handler:           onReserveConn(maxConns, h),
		ReadHeaderTimeout: min(requestHeaderTimeout, readTimeout),
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		ConnContext:       connContext,
	}
}

// LimitListener returns l holding at most max connections open at once,
// plus reserve connections when reserve > 0: on those, an http.Server from
// API.HTTPServer serves /healthz only and answers 503 to every other path.
// Accept waits, leaving further connections in the kernel's backlog, while
// every slot is taken.
func LimitListener(l net.Listener, max, reserve int) net.Listener {
	return newConnLimiter(l, max, reserve)
}

// HTTPServer returns an http.Server for the REST API (HTTPHandler) with
// standin's read timeouts: readTimeout for a whole request, at most 10 s of
// it for the headers. maxConns is the limit given to LimitListener, whose
// reserve connections it recognises.
func (a *API) HTTPServer(maxConns int, readTimeout time.Duration) *http.Server {
	return newHTTPServer(a.HTTPHandler(), maxConns, readTimeout)
}
