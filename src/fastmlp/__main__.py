"""Command line: ``python -m fastmlp {demo,bench,info}``."""
import argparse
import sys


def _cmd_info(args):
    import fastmlp

    fastmlp.show_config()
    return 0


def _cmd_demo(args):
    from fastmlp._demo import run_demo

    return run_demo(epochs=args.epochs, seed=args.seed)


def _cmd_bench(args):
    from fastmlp._bench import quick_bench

    print(f"one thread, {args.epochs} timed epoch(s) after a warm-up, {args.scale:g} of each "
          "configuration's samples (bench/bench_train.py runs the full comparison)\n")
    quick_bench(scale=args.scale, epochs=args.epochs)
    return 0


def main(argv=None):
    """Entry point of ``python -m fastmlp``.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        Exit code: 0 on success, 2 on bad usage or input.
    """
    parser = argparse.ArgumentParser(
        prog="python -m fastmlp",
        description="fastmlp: multilayer perceptrons on the CPU, C kernels under "
                    "scikit-learn-style estimators.")
    sub = parser.add_subparsers(dest="command", metavar="command")
    demo = sub.add_parser("demo",
                          help="train on scikit-learn's digits and compare with scikit-learn")
    demo.add_argument("--epochs", type=int, default=30, help="training epochs (default 30)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.set_defaults(func=_cmd_demo)
    bench = sub.add_parser("bench", help="a short training-speed comparison with scikit-learn "
                                         "(and PyTorch when installed)")
    bench.add_argument("--scale", type=float, default=0.1,
                       help="fraction of the configurations' samples (default 0.1)")
    bench.add_argument("--epochs", type=int, default=2, help="timed epochs (default 2)")
    bench.set_defaults(func=_cmd_bench)
    info = sub.add_parser("info", help="print the build and run-time configuration")
    info.set_defaults(func=_cmd_info)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "epochs", 1) < 1:
        parser.error("--epochs must be at least 1")
    if not 0 < getattr(args, "scale", 1.0) <= 1:
        parser.error("--scale must be in (0, 1]")
    if not 0 <= getattr(args, "seed", 0) < 2**32:
        # scikit-learn's random_state range; beyond it, a traceback from deep inside.
        parser.error("--seed must be in [0, 2**32 - 1]")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
