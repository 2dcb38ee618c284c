module example.com/kilngotest

go 1.19
