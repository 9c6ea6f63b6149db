package testkit

import (
	"context"
	"errors"
	"net"
	"sync"
)

// ErrCut is what a Link refuses connections with while it is cut.
var ErrCut = errors.New("testkit: link cut")

// Link is a network path a test can cut and restore: a dialer whose
// connections all drop at once on Cut and that refuses new ones until
// Restore. Give its Dial to a Kafka client (kgo.Dialer) or an HTTP
// transport to take the other side away without stopping a server that
// other tests share. Safe for concurrent use.
type Link struct {
	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
	d     net.Dialer
}

// NewLink returns a link that is up.
func NewLink() *Link { return &Link{conns: map[net.Conn]struct{}{}} }

// Dial connects like net.Dialer unless the link is cut.
func (l *Link) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	l.mu.Lock()
	cut := l.cut
	l.mu.Unlock()
	if cut {
		return nil, &net.OpError{Op: "dial", Net: network, Err: ErrCut}
	}
	c, err := l.d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		c.Close()
		return nil, &net.OpError{Op: "dial", Net: network, Err: ErrCut}
	}
	lc := &linkConn{Conn: c, l: l}
	l.conns[lc] = struct{}{}
	return lc, nil
}

// Cut closes every open connection and refuses new ones.
func (l *Link) Cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = true
	for c := range l.conns {
		c.(*linkConn).Conn.Close()
	}
	clear(l.conns)
}

// Restore lets connections through again.
func (l *Link) Restore() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = false
}

type linkConn struct {
	net.Conn
	l *Link
}

func (c *linkConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}
