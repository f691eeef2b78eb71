package modemsim

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// TestOpenPTY: the pair passes bytes both ways unchanged (raw mode: no echo,
// no CR/LF translation), the slave is a /dev/pts device, and closing the
// master makes a Read pending on it return (the poller owns it).
func TestOpenPTY(t *testing.T) {
	master, slave, err := OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	if !strings.HasPrefix(slave.Name(), "/dev/pts/") {
		t.Errorf("slave %q is not a /dev/pts device", slave.Name())
	}
	if _, err := slave.Write([]byte("AT\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(master, buf); err != nil || !bytes.Equal(buf, []byte("AT\r\n")) {
		t.Fatalf("master read %q, %v", buf, err)
	}
	if _, err := master.Write([]byte("OK\r")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(slave, buf[:3]); err != nil || string(buf[:3]) != "OK\r" {
		t.Fatalf("slave read %q, %v", buf[:3], err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := master.Read(buf)
		done <- err
	}()
	master.Close()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("pending read ended with %v, want os.ErrClosed", err)
		}
	case <-time.After(10 * time.Second): // safety net only: it returns at once
		t.Fatal("Close did not end the pending Read")
	}
}
