module example.com/monorepo/services/worker

go 1.22
