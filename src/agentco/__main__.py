from agentco.cli.app import main

main()
