import sys

try:
    from migrator.cli import main
except KeyboardInterrupt:  # Ctrl-C while still importing: one line, like any other interrupt
    print("interrupted (SIGINT) while planning: nothing was written", file=sys.stderr)
    sys.exit(130)

if __name__ == "__main__":
    main()
