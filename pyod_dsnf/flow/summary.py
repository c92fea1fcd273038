"""Parameter counts of DSNFlow configurations (``python -m pyod_dsnf.flow.summary``)."""

from __future__ import annotations

from torch import nn

from pyod_dsnf.flow.model import DSNFlow


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) scalar parameters of ``model``, shared ones counted once."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def parameter_table(
    spaces: tuple[str, ...] = ("euclidean", "hyperbolic", "dual"),
    hidden: tuple[int, ...] = (2, 4, 8, 16, 32),
    n_flow_steps: int = 8,
    graph: str = "coco17",
) -> list[tuple[str, int, int]]:
    """``(space, hidden_channels, n_parameters)`` rows for each configuration."""
    return [
        (
            space,
            h,
            count_parameters(
                DSNFlow(graph=graph, n_flow_steps=n_flow_steps, space=space, hidden_channels=h)
            ),
        )
        for space in spaces
        for h in hidden
    ]


def main() -> None:
    print(f"{'space':<12}{'hidden':>8}{'parameters':>12}   (K=8 steps, coco17)")
    for space, h, n in parameter_table():
        print(f"{space:<12}{h:>8}{n:>12,}")


if __name__ == "__main__":
    main()
