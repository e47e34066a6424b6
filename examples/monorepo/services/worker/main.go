// Command worker is one service of the monorepo example.
package main

import "fmt"

func main() {
	fmt.Println("worker: ready")
}
