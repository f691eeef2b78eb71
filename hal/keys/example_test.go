package keys_test

import (
	"context"
	"fmt"
	"os"

	"lifeline/hal/keys"
)

// Reading an input device: key codes come from board data.
func ExampleOpenInput() {
	codes := map[uint16]string{keys.KeyCodes["KEY_WPS_BUTTON"]: "wps", keys.KeyCodes["KEY_RESTART"]: "reset"}
	src, err := keys.OpenInput(context.Background(), "/dev/input/event0", codes)
	if err != nil {
		fmt.Println(err != nil)
		return
	}
	defer src.Close()
	for ev := range src.Events() {
		fmt.Println(ev.Key, ev.Pressed)
	}
}

func ExampleParseUevent() {
	payload := "pressed@\x00HOME=/\x00PATH=/sbin:/bin:/usr/sbin:/usr/bin\x00SUBSYSTEM=button\x00ACTION=pressed\x00BUTTON=wps\x00SEEN=3\x00SEQNUM=901\x00"
	u, err := keys.ParseUevent([]byte(payload))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	b, ok := u.ButtonEvent()
	fmt.Println(b.Name, b.Pressed, b.Seen, ok)
	// Output: wps true 3 true
}
