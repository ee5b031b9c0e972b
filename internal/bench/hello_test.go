package bench

import (
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestHelloAnswers204(t *testing.T) {
	h := NewHello()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go h.Serve(ln)
	defer h.Close()
	for range 3 {
		resp, err := http.Post("http://"+ln.Addr().String()+"/openrtb2/auction", "application/json", strings.NewReader(`{"id":"1"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 204 {
			t.Fatalf("status %d, want 204", resp.StatusCode)
		}
	}
	if h.Requests() != 3 {
		t.Errorf("counted %d requests, want 3", h.Requests())
	}
}
