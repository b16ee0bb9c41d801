package graph_test

import (
	"fmt"
	"os"

	"github.com/stackerless/stackerless/pkg/graph"
)

func Example() {
	g := graph.New()
	for _, name := range []string{"vpc", "db", "app"} {
		g.AddNode(name)
	}
	// app depends on db and vpc; db depends on vpc.
	for _, e := range [][2]string{{"app", "db"}, {"app", "vpc"}, {"db", "vpc"}} {
		if err := g.AddEdge(e[0], e[1]); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := g.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	order, _ := g.TopoOrder()
	fmt.Println("build order:", order)

	destroy, _ := g.TransitiveDependents([]string{"db"})
	fmt.Println("destroying db takes:", destroy)

	_ = g.Reduce() // drops app -> vpc, implied by app -> db -> vpc
	_ = g.Dot(os.Stdout)
	// Output:
	// build order: [vpc db app]
	// destroying db takes: [db app]
	// digraph digraph {
	//   "db" -> "vpc";
	//   "app" -> "db";
	// }
}

func ExampleGraph_Validate() {
	g := graph.New()
	for _, name := range []string{"a", "b", "c"} {
		g.AddNode(name)
	}
	_ = g.AddEdge("a", "b")
	_ = g.AddEdge("b", "c")
	_ = g.AddEdge("c", "a")
	fmt.Println(g.Validate())
	// Output: dependency cycle: a -> b -> c -> a
}

func ExampleGraph_JSON() {
	g := graph.New()
	g.AddNode("vpc")
	g.AddNode("app")
	_ = g.AddEdge("app", "vpc")
	_ = g.JSON(os.Stdout)
	// Output:
	// {
	//     "steps": {
	//         "vpc": {
	//             "deps": []
	//         },
	//         "app": {
	//             "deps": [
	//                 "vpc"
	//             ]
	//         }
	//     }
	// }
}

func ExampleGraph_Mermaid() {
	g := graph.New()
	g.AddNode("vpc")
	g.AddNode("app")
	_ = g.AddEdge("app", "vpc")
	_ = g.Mermaid(os.Stdout)
	// Output:
	// graph TD
	//   n0["vpc"]
	//   n1["app"]
	//   n1 --> n0
}
