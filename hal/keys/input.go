package keys

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// Linux input event types and codes used here (linux/input-event-codes.h).
const (
	EvSyn      = 0x00
	EvKey      = 0x01
	SynReport  = 0
	SynDropped = 3
)

// Key codes of the buttons routers carry (linux/input-event-codes.h), for
// board data that names codes symbolically. KeyCodes maps the names.
var KeyCodes = map[string]uint16{
	"BTN_0": 0x100, "BTN_1": 0x101, "BTN_2": 0x102, "BTN_3": 0x103, "BTN_4": 0x104,
	"BTN_5": 0x105, "BTN_6": 0x106, "BTN_7": 0x107, "BTN_8": 0x108, "BTN_9": 0x109,
	"KEY_VOLUMEDOWN": 114, "KEY_VOLUMEUP": 115, "KEY_POWER": 116, "KEY_COPY": 133,
	"KEY_HELP": 138, "KEY_EJECTCD": 161, "KEY_PHONE": 169, "KEY_CONFIG": 171,
	"KEY_WLAN": 238, "KEY_BRIGHTNESS_ZERO": 244, "KEY_WWAN": 246, "KEY_WIMAX": 246,
	"KEY_RFKILL": 247, "KEY_POWER2": 0x164, "KEY_VENDOR": 0x168, "KEY_VIDEO": 0x189,
	"KEY_RESTART": 0x198, "KEY_WPS_BUTTON": 0x211, "KEY_LIGHTS_TOGGLE": 0x21e,
}

// InputEvent is a decoded struct input_event.
type InputEvent struct {
	Sec, Usec int64
	Type      uint16
	Code      uint16
	Value     int32 // EV_KEY: 0 release, 1 press, 2 autorepeat
}

// NativeWordSize is the size in bytes of a C long on this target; it
// decides the layout of struct input_event.
const NativeWordSize = int(unsafe.Sizeof(uintptr(0)))

// InputEventSize returns sizeof(struct input_event) for a word size of 4
// (32-bit targets: two 32-bit time fields, 16 bytes; also with a 64-bit
// time_t, whose uapi layout keeps __kernel_ulong_t fields) or 8 (24 bytes).
func InputEventSize(wordSize int) int { return 2*wordSize + 8 }

// DecodeInputEvent decodes one struct input_event laid out for wordSize (4
// or 8) in byte order bo (binary.NativeEndian on the device itself).
func DecodeInputEvent(b []byte, wordSize int, bo binary.ByteOrder) (InputEvent, error) {
	if wordSize != 4 && wordSize != 8 {
		return InputEvent{}, fmt.Errorf("%w: word size %d", ErrMalformed, wordSize)
	}
	size := InputEventSize(wordSize)
	if len(b) < size {
		return InputEvent{}, fmt.Errorf("%w: %d bytes, want %d", ErrShort, len(b), size)
	}
	var e InputEvent
	if wordSize == 8 {
		e.Sec = int64(bo.Uint64(b[0:8]))
		e.Usec = int64(bo.Uint64(b[8:16]))
	} else {
		// __kernel_ulong_t on the time64 layout, long on the old one:
		// unsigned reading is right for both until 2106.
		e.Sec = int64(bo.Uint32(b[0:4]))
		e.Usec = int64(bo.Uint32(b[4:8]))
	}
	o := 2 * wordSize
	e.Type = bo.Uint16(b[o : o+2])
	e.Code = bo.Uint16(b[o+2 : o+4])
	e.Value = int32(bo.Uint32(b[o+4 : o+8]))
	return e, nil
}

// EncodeInputEvent is the inverse of DecodeInputEvent, for fakes and tests.
func EncodeInputEvent(e InputEvent, wordSize int, bo binary.ByteOrder) []byte {
	b := make([]byte, InputEventSize(wordSize))
	if wordSize == 8 {
		bo.PutUint64(b[0:8], uint64(e.Sec))
		bo.PutUint64(b[8:16], uint64(e.Usec))
	} else {
		bo.PutUint32(b[0:4], uint32(e.Sec))
		bo.PutUint32(b[4:8], uint32(e.Usec))
	}
	o := 2 * wordSize
	bo.PutUint16(b[o:o+2], e.Type)
	bo.PutUint16(b[o+2:o+4], e.Code)
	bo.PutUint32(b[o+4:o+8], uint32(e.Value))
	return b
}
