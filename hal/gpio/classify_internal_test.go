package gpio

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/warthog618/go-gpiocdev"
)

// TestClassify maps the errors go-gpiocdev and the kernel return onto the
// sentinels, including the permission case the root-only tiers cannot
// produce.
func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"busy", syscall.EBUSY, ErrBusy},
		{"busy wrapped", fmt.Errorf("request: %w", syscall.EBUSY), ErrBusy},
		{"eacces open", &fs.PathError{Op: "open", Path: "/dev/gpiochip0", Err: syscall.EACCES}, ErrPermission},
		{"eperm", syscall.EPERM, ErrPermission},
		{"gpiocdev permission", gpiocdev.ErrPermissionDenied, ErrPermission},
		{"no chip", &fs.PathError{Op: "lstat", Path: "/dev/gpiochip9", Err: syscall.ENOENT}, ErrChipNotFound},
		{"not a chip", gpiocdev.ErrNotCharacterDevice, ErrChipNotFound},
		{"chip gone", syscall.ENODEV, ErrChipNotFound},
		{"bad offset", gpiocdev.ErrInvalidOffset, ErrLineNotFound},
		{"no name", gpiocdev.ErrNotFound, ErrLineNotFound},
		{"uapi v1", gpiocdev.ErrUapiIncompatibility{Feature: "debounce", AbiVersion: 1}, ErrNotSupported},
		{"other", syscall.EIO, ErrIO},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := classify(tc.err, ErrIO); got != tc.want {
				t.Errorf("classify(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestLineErrorMessage(t *testing.T) {
	err := error(&LineError{Op: "open input", Chip: "gpiochip2", Line: "mains (offset 7)", Kind: ErrPermission,
		Cause: &fs.PathError{Op: "open", Path: "/dev/gpiochip2", Err: syscall.EACCES}})
	for _, want := range []string{"gpiochip2", `"mains (offset 7)"`, "permission denied", "/dev/gpiochip2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if !errors.Is(err, ErrPermission) || !errors.Is(err, syscall.EACCES) {
		t.Errorf("%v does not match both its sentinel and its cause", err)
	}
}
