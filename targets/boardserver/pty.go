package boardserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// PTY is a pseudo-terminal whose master side is the board's UART; hosts
// open the slave (Path) as a serial port.
type PTY struct {
	Master *os.File
	// slave is kept open for the PTY's whole life: bytes the board sends
	// while no host has the port open wait in the kernel's buffer (a host
	// that opens late still gets the boot banner) and the master never
	// sees EIO between two hosts.
	slave *os.File
	Path  string // /dev/pts/N
	Link  string // a symlink to Path, or ""
}

// OpenPTY makes a new pseudo-terminal in raw mode (no echo, no line
// editing, no CR/LF translation). With link != "" it also makes (or
// atomically replaces) a symlink there pointing at the slave, so a
// restarted server is found at the same path.
func OpenPTY(link string) (*PTY, error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open pty: %w", err)
	}
	// creack/pty leaves the master in blocking mode (it called Fd), so
	// reads on it could not be interrupted: give the runtime poller a
	// non-blocking duplicate instead.
	fd, err := unix.Dup(int(m.Fd()))
	m.Close()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("pty: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		s.Close()
		return nil, fmt.Errorf("pty: %w", err)
	}
	p := &PTY{Master: os.NewFile(uintptr(fd), "/dev/ptmx"), slave: s, Path: s.Name()}
	if _, err := term.MakeRaw(int(s.Fd())); err != nil {
		p.Close()
		return nil, fmt.Errorf("pty raw mode: %w", err)
	}
	if link != "" {
		if err := Relink(p.Path, link); err != nil {
			p.Close()
			return nil, err
		}
		p.Link = link
	}
	return p, nil
}

// Relink makes link a symlink to target, atomically replacing what was
// there: a host reopening link finds either the old port or the new one.
func Relink(target, link string) error {
	tmp := filepath.Join(filepath.Dir(link), "."+filepath.Base(link)+".new")
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("pty link: %w", err)
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pty link: %w", err)
	}
	return nil
}

// Close closes both sides; the link is removed if it still points here.
func (p *PTY) Close() error {
	if p.Link != "" {
		if dst, err := os.Readlink(p.Link); err == nil && dst == p.Path {
			os.Remove(p.Link)
		}
	}
	err := p.Master.Close()
	p.slave.Close()
	return err
}

// ServePTY runs the server with p as its line until ctx ends.
func (s *Server) ServePTY(ctx context.Context, p *PTY) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- s.Attach(ctx, p.Master) }()
	err := s.Run(ctx)
	cancel()
	p.Master.SetReadDeadline(pastTime) //nolint:errcheck // unblocks Attach's read
	if aerr := <-errc; err == nil {
		err = aerr
	}
	return err
}

// ServeListener runs the server, with each accepted connection as its
// line in turn (a new connection replaces the one before), until ctx ends.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run(ctx) }()
	var prev net.Conn
	for {
		c, err := ln.Accept()
		if err != nil {
			break
		}
		if prev != nil {
			prev.Close()
		}
		prev = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			// Closing c unblocks Attach's read when ctx ends; the hook
			// goes with the connection, so clients that come and go
			// leave no goroutine behind.
			stop := context.AfterFunc(ctx, func() { c.Close() })
			defer stop()
			s.Attach(ctx, c) //nolint:errcheck // a dropped client is normal
		}()
	}
	cancel()
	if prev != nil {
		prev.Close()
	}
	wg.Wait()
	return <-runErr
}

var pastTime = time.Unix(1, 0)
