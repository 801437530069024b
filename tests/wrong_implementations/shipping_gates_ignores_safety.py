"""Decides the quality gate on task scores alone, ignoring safety_pass."""

FEEDBACK_MENTIONS = "safety_pass ignored"


def shipping_gates(metrics, max_loss_increase=0.02, min_coverage=0.999, max_task_drop=1.0):
    keys = ("calibration_coverage", "loss_baseline", "loss_quantized", "latency_baseline_ms",
            "latency_quantized_ms", "task_scores_baseline", "task_scores_quantized", "safety_pass")
    for key in keys:
        if key not in metrics:
            raise ValueError(f"metrics is missing {key!r}")
    base, quant = metrics["task_scores_baseline"], metrics["task_scores_quantized"]
    gates = {
        "calibration": metrics["calibration_coverage"] >= min_coverage,
        "heldout_loss": (metrics["loss_quantized"] - metrics["loss_baseline"]) / metrics["loss_baseline"]
        <= max_loss_increase,
        "latency": metrics["latency_quantized_ms"] < metrics["latency_baseline_ms"],
        "quality": all(base[t] - quant[t] <= max_task_drop for t in base),
    }
    gates["ship"] = all(gates.values())
    return gates
