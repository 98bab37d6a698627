from bench.floor.driver import main

main()
