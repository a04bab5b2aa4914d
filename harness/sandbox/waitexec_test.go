package sandbox

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/moby/moby/client"
)

// A daemon that fails its first inspects (as one stalled by disk I/O
// does) must not turn a finished exec into an error; a missing exec must
// end the wait at once.
func TestWaitExecOutlastsAFailingDaemon(t *testing.T) {
	tests := []struct {
		name      string
		failFirst int32
		status    int
		wantErr   bool
		wantCalls int32
	}{
		{name: "daemon errors, then answers", failFirst: 2, status: http.StatusInternalServerError, wantCalls: 3},
		{name: "exec not found", failFirst: 1, status: http.StatusNotFound, wantErr: true, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			daemon := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !strings.HasSuffix(r.URL.Path, "/exec/e1/json") {
					http.NotFound(w, r)
					return
				}
				if calls.Add(1) <= tt.failFirst {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(tt.status)
					_, _ = w.Write([]byte(`{"message":"injected"}`))
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"ID":"e1","Running":false,"ExitCode":7,"Pid":0}`))
			}))
			defer daemon.Close()
			cli, err := client.New(client.WithHost("tcp://"+strings.TrimPrefix(daemon.URL, "http://")), client.WithAPIVersion("1.44"))
			if err != nil {
				t.Fatal(err)
			}
			s := &dockerSandbox{d: &Docker{cli: cli}, id: "c1"}
			ins, err := s.waitExec(context.Background(), "e1")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want an error: %v", err, tt.wantErr)
			}
			if !tt.wantErr && ins.ExitCode != 7 {
				t.Errorf("exit code %d, want 7", ins.ExitCode)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("%d inspects, want %d", got, tt.wantCalls)
			}
		})
	}
}
