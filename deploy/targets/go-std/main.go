// go-std: the benchmark's net/http server (http.HandleFunc + fmt.Fprintf), with the
// response headers set explicitly so every system sends the same contract.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"runtime"
	"strconv"
)

func hello(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Set, not sniffed: Go would otherwise add "; charset=utf-8".
	h["Content-Type"] = []string{"text/plain"}
	h["Content-Length"] = []string{"5"}
	fmt.Fprintf(w, "Hello")
}

func main() {
	host := flag.String("host", "127.0.0.1", "address to listen on")
	port := flag.Int("port", 8080, "TCP port")
	threads := flag.Int("threads", runtime.NumCPU(), "GOMAXPROCS")
	flag.Parse()
	runtime.GOMAXPROCS(*threads)

	http.HandleFunc("/", hello)
	addr := net.JoinHostPort(*host, strconv.Itoa(*port))
	// ErrorLog stays the default: it only speaks on errors, never per request.
	log.Fatal(http.ListenAndServe(addr, nil))
}
