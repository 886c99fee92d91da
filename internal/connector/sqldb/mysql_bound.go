package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
)

// The MySQL driver reads a whole row into memory before handing it over,
// however many 16 MiB packets it spans, and checks its max_allowed_packet
// only on what it sends. So Warden counts the bytes read from each
// connection's socket itself: while a query's result is read, the socket
// yields at most the result bound (and some slack), then fails, which
// makes the driver drop the connection instead of reading on.

// errReadBound is the socket's failure once a result read its bound.
var errReadBound = errors.New("mysql: the result is larger than max_result_bytes")

// meteredConn is a socket that can be given a read budget.
type meteredConn struct {
	net.Conn
	left    atomic.Int64 // bytes that may still be read
	hit     atomic.Bool  // a read was refused for the budget
	id      int64        // the server's connection id, for KILL QUERY
	onClose func()
}

func newMeteredConn(c net.Conn) *meteredConn {
	m := &meteredConn{Conn: c}
	m.left.Store(math.MaxInt64)
	return m
}

func (m *meteredConn) Read(p []byte) (int, error) {
	left := m.left.Load()
	if left <= 0 {
		m.hit.Store(true)
		return 0, errReadBound
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := m.Conn.Read(p)
	m.left.Add(-int64(n))
	return n, err
}

func (m *meteredConn) Close() error {
	if m.onClose != nil {
		m.onClose()
	}
	return m.Conn.Close()
}

// bound gives the socket a budget of n bytes; unbound lifts it.
func (m *meteredConn) bound(n int64) { m.hit.Store(false); m.left.Store(n) }
func (m *meteredConn) unbound()      { m.left.Store(math.MaxInt64) }

// meteredConnector opens the driver's connections over metered sockets
// and remembers which socket each driver connection uses.
type meteredConnector struct {
	driver.Connector
	sockets sync.Map // driver.Conn → *meteredConn
}

type dialedKey struct{}

// dialMetered is the driver's DialFunc: it dials as the driver would and
// hands the metered socket to the Connect that asked for it.
func dialMetered(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	m := newMeteredConn(c)
	if slot, ok := ctx.Value(dialedKey{}).(**meteredConn); ok {
		*slot = m
	}
	return m, nil
}

func (mc *meteredConnector) Connect(ctx context.Context) (driver.Conn, error) {
	var m *meteredConn
	dc, err := mc.Connector.Connect(context.WithValue(ctx, dialedKey{}, &m))
	if err != nil {
		return nil, err
	}
	if m == nil {
		dc.Close()
		return nil, errors.New("mysql: the connection was not opened through Warden's dialer")
	}
	if m.id, err = connectionID(ctx, dc); err != nil {
		dc.Close()
		return nil, err
	}
	mc.sockets.Store(dc, m)
	m.onClose = func() { mc.sockets.Delete(dc) }
	return dc, nil
}

// socket returns the metered socket under a database/sql connection.
func (mc *meteredConnector) socket(c *sql.Conn) (*meteredConn, error) {
	var m *meteredConn
	err := c.Raw(func(dc any) error {
		v, ok := mc.sockets.Load(dc)
		if !ok {
			return errors.New("mysql: the connection has no metered socket")
		}
		m = v.(*meteredConn)
		return nil
	})
	return m, err
}

// connectionID asks the server for the id of the connection dc.
func connectionID(ctx context.Context, dc driver.Conn) (int64, error) {
	q, ok := dc.(driver.QueryerContext)
	if !ok {
		return 0, errors.New("mysql: the driver connection cannot run a query")
	}
	rows, err := q.QueryContext(ctx, "SELECT CONNECTION_ID()", nil)
	if err != nil {
		return 0, fmt.Errorf("mysql: connection id: %w", err)
	}
	defer rows.Close()
	v := make([]driver.Value, 1)
	if err := rows.Next(v); err != nil {
		return 0, fmt.Errorf("mysql: connection id: %w", err)
	}
	switch x := v[0].(type) {
	case int64:
		return x, nil
	case []byte:
		return strconv.ParseInt(string(x), 10, 64)
	}
	return 0, fmt.Errorf("mysql: connection id of type %T", v[0])
}
