// Protect and unprotect through `keyward serve` with Go's net/http over a Unix dialer.
// Usage: KEYWARD_SOCKET=/run/keyward/keyward.sock go run client.go [TEXT]
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	socket := os.Getenv("KEYWARD_SOCKET")
	if socket == "" {
		socket = "/run/keyward/keyward.sock"
	}
	text := "hello from Go"
	if len(os.Args) > 1 {
		text = os.Args[1]
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		},
	}}
	call := func(path string, body any) map[string]any {
		data, _ := json.Marshal(body)
		response, err := client.Post("http://keyward"+path, "application/json", bytes.NewReader(data))
		if err != nil {
			fmt.Fprintf(os.Stderr, "keyward sidecar is not reachable at %s: %v\n", socket, err)
			os.Exit(2)
		}
		defer response.Body.Close()
		var answer map[string]any
		if err := json.NewDecoder(response.Body).Decode(&answer); err != nil {
			fmt.Fprintf(os.Stderr, "keyward sidecar: unreadable answer: %v\n", err)
			os.Exit(2)
		}
		if response.StatusCode != http.StatusOK {
			fmt.Fprintf(os.Stderr, "%d %v: %v\n", response.StatusCode, answer["reason"], answer["error"])
			os.Exit(2)
		}
		return answer
	}
	purposes := []string{"Orders", "v1"}
	protected := call("/v1/protect", map[string]any{
		"purposes": purposes, "plaintext": base64.StdEncoding.EncodeToString([]byte(text)),
	})
	payload := protected["payload"].(string)
	fmt.Printf("payload: %s\n", payload)
	opened := call("/v1/unprotect", map[string]any{"purposes": purposes, "payload": payload})
	plaintext, _ := base64.StdEncoding.DecodeString(opened["plaintext"].(string))
	fmt.Printf("plaintext: %s\n", plaintext)
}
