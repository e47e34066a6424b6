// Command server answers greetings over HTTP.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"

	"example.com/go-service/internal/greet"
)

var version = "dev"

func main() {
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, greet.Hello(r.URL.Query().Get("name")))
	})
	log.Printf("go-service %s listening on :8080", version)
	log.Fatal(http.ListenAndServe(":8080", nil))
}
