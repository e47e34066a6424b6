// Command api is one service of the monorepo example.
package main

import "fmt"

func main() {
	fmt.Println("api: ready")
}
