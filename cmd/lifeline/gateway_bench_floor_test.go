package main

import (
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"lifeline/hal/modem/modemsim"
	"lifeline/hal/voice"
)

// BenchmarkGatewayCallFloor measures what a call's frame loop cannot do
// without on this machine, to read BenchmarkGatewayCall's CPU against:
//
//	CGO_ENABLED=1 go test -run '^$' -bench 'GatewayCallFloor$' -benchtime 1x ./cmd/lifeline
//
// One thread, locked and doing nothing else, runs the four system calls
// the bridge makes per 20 ms frame (hal/voice/bridge), raw as the
// daemon's serial port and RTP socket make them: a blocking read
// of the frame from a pseudo-terminal (the modem, as the daemon's
// line), a sendto of a 172-byte RTP packet to a phone on loopback, a
// non-blocking read of the phone's packet, and a write of a frame back
// to the pseudo-terminal. No Go scheduler, poller, DLE, jitter buffer or
// transcoding: raw system calls, as a C program would make them. The far
// end writes a frame every 20 ms and reads what comes back; the phone
// echoes each packet. Only the loop thread's CPU time is counted
// (/proc/thread-self/schedstat), as BenchmarkGatewayCall counts only the
// daemon's.
//
// Metrics: cpu-ms/s-floor (per second of wall time) and cpu-us/frame-floor,
// the figures to set beside BenchmarkGatewayCall's cpu-ms/s-call and
// cpu-us/frame. LIFELINE_BENCH_FLOOR sets the length (default 20s).
func BenchmarkGatewayCallFloor(b *testing.B) {
	dur := gwbEnv(b, "LIFELINE_BENCH_FLOOR", 20*time.Second)
	master, slave, err := modemsim.OpenPTY()
	if err != nil {
		b.Skip(err)
	}
	defer master.Close()
	defer slave.Close()
	line := int(slave.Fd()) // blocking, as Fd leaves it

	rtpConn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer rtpConn.Close()
	phone, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer phone.Close()
	rtpFile, err := rtpConn.File() // a blocking duplicate outside the poller
	if err != nil {
		b.Fatal(err)
	}
	defer rtpFile.Close()
	sock := int(rtpFile.Fd())
	phoneAddr := phone.LocalAddr().(*net.UDPAddr)
	to := &unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: [4]byte{127, 0, 0, 1}}
	port := (*[2]byte)(unsafe.Pointer(&to.Port)) // network byte order
	port[0], port[1] = byte(phoneAddr.Port>>8), byte(phoneAddr.Port)

	frameBytes := voice.FormatLinear8U.FrameBytes()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { // the far end: a frame every 20 ms
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		frame := make([]byte, frameBytes)
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if _, err := master.Write(frame); err != nil {
					return
				}
			}
		}
	}()
	go func() { // the far end hears the frames back
		defer wg.Done()
		buf := make([]byte, 4096)
		for {
			if _, err := master.Read(buf); err != nil {
				return
			}
		}
	}()
	go func() { // the phone echoes
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			n, from, err := phone.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if _, err := phone.WriteToUDPAddrPort(buf[:n], from); err != nil {
				return
			}
		}
	}()

	var frames int
	var cpu, wall time.Duration
	for b.Loop() {
		frames, cpu, wall, err = floorLoop(line, sock, to, frameBytes, dur)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	master.Close() // ends the far end's read
	phone.Close()  // ends the phone
	wg.Wait()
	if frames == 0 {
		b.Fatal("no frame came from the pseudo-terminal")
	}
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)/wall.Seconds(), "cpu-ms/s-floor")
	b.ReportMetric(float64(cpu)/float64(time.Microsecond)/float64(frames), "cpu-us/frame-floor")
	b.ReportMetric(float64(frames)/wall.Seconds(), "frames/s")
}

// floorLoop is BenchmarkGatewayCallFloor's loop, on a thread of its own,
// for dur: it returns the frames read and the thread's CPU time over the
// wall time.
func floorLoop(line, sock int, to *unix.RawSockaddrInet4, frameBytes int, dur time.Duration) (frames int, cpu, wall time.Duration, err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	buf := make([]byte, 4096)
	pkt := make([]byte, 12+voice.FrameSamples)
	in := make([]byte, 2048)
	c0, err := threadCPU()
	if err != nil {
		return 0, 0, 0, err
	}
	t0 := time.Now()
	for time.Since(t0) < dur {
		// Raw, as a C program's read(2): the blocking read does not enter
		// the runtime's syscall state (a GC waits for the next frame).
		if _, _, e := syscall.RawSyscall(unix.SYS_READ, uintptr(line), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf))); e != 0 {
			return 0, 0, 0, os.NewSyscallError("read", e)
		}
		if _, _, e := syscall.RawSyscall6(unix.SYS_SENDTO, uintptr(sock), uintptr(unsafe.Pointer(&pkt[0])), uintptr(len(pkt)),
			0, uintptr(unsafe.Pointer(to)), unsafe.Sizeof(*to)); e != 0 {
			return 0, 0, 0, os.NewSyscallError("sendto", e)
		}
		// EAGAIN when the echo is late, as the bridge's recvmmsg.
		syscall.RawSyscall6(unix.SYS_RECVFROM, uintptr(sock), uintptr(unsafe.Pointer(&in[0])), uintptr(len(in)), unix.MSG_DONTWAIT, 0, 0)
		if _, _, e := syscall.RawSyscall(unix.SYS_WRITE, uintptr(line), uintptr(unsafe.Pointer(&buf[0])), uintptr(frameBytes)); e != 0 {
			return 0, 0, 0, os.NewSyscallError("write", e)
		}
		frames++
	}
	wall = time.Since(t0)
	c1, err := threadCPU()
	return frames, c1 - c0, wall, err
}

// threadCPU is the calling thread's run time (schedstat's first field).
func threadCPU() (time.Duration, error) {
	b, err := os.ReadFile("/proc/thread-self/schedstat")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, os.ErrInvalid
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	return time.Duration(ns), err
}
