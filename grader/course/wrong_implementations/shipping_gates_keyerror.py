"""Reads the metrics without checking them, so a missing metric raises KeyError instead of ValueError."""

FEEDBACK_MENTIONS = "not keyerror"


def shipping_gates(metrics, max_loss_increase=0.02, min_coverage=0.999, max_task_drop=1.0):
    base, quant = metrics["task_scores_baseline"], metrics["task_scores_quantized"]
    gates = {
        "calibration": metrics["calibration_coverage"] >= min_coverage,
        "heldout_loss": (metrics["loss_quantized"] - metrics["loss_baseline"]) / metrics["loss_baseline"]
        <= max_loss_increase,
        "latency": metrics["latency_quantized_ms"] < metrics["latency_baseline_ms"],
        "quality": all(base[t] - quant[t] <= max_task_drop for t in base) and bool(metrics["safety_pass"]),
    }
    gates["ship"] = all(gates.values())
    return gates
