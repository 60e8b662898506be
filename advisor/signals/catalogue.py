"""The catalogue of signal families: roles measured and every value key, in one place.

Keep this file the single source of truth that rules are checked against. Implementations live
in the modules named by `fn`.
"""
from __future__ import annotations

from advisor.signals import Family, register

LOSSES = ("train_loss", "val_loss")

register(Family(
    name="stats",
    roles=("train_loss", "val_loss", "train_acc", "val_acc", "val_metric", "lr", "grad_norm", "reward"),
    keys={
        "points": "number of points",
        "finite_fraction": "share of finite values, 0..1",
        "first": "first finite value", "last": "last finite value",
        "min": "smallest finite value", "min_step": "x of the smallest value",
        "max": "largest finite value",
        "rel_drop": "(first - last) / |first|, robust (medians of the first/last 10%)",
        "x_span": "last x - first x",
    },
    fn="advisor.signals.stats:measure_stats",
))

register(Family(
    name="divergence",
    roles=LOSSES,
    keys={
        "kind": "'nan' | 'explosion' | 'early_rise' | 'relapse' | 'above_chance' | 'after_last_log' | None",
        "first_nonfinite_step": "x of the first NaN/inf, or None",
        "explosion_ratio": "max after the running minimum / running minimum (scale-free)",
        "early_rise_ratio": "how far the loss climbed above its start: the trend's peak / its start (or / the first logged value)",
        "onset_step": "x where the divergence starts",
        "grad_norm_explosion": "bool: grad_norm blows up (smoothed, >= 10x its running minimum and >= 5x its median, and stays >= 0.3x its peak) or goes non-finite for good",
        "grad_norm_onset_step": "x where the grad norm's blow-up began (its last point within 2x the running minimum before the peak)",
        "grad_norm_ratio": "the grad norm's smoothed peak over its running minimum there (None when non-finite or no blow-up)",
        "grad_norm_rise": "text: how it blew up, 'to <ratio>x its lowest level before' or 'non-finite'",
        "after_fraction": "share of the run (by x) after the onset",
        "chance_ratio": "a classifier's loss (last quarter) / ln(1 / its accuracy's low), when it sits far above guessing",
        "settled_after_blowup": "a classifier's first logged losses (max of three) / ln(1 / its accuracy's low), when its "
                                "loss ends at 0.75-2x that loss while the accuracy never rose (>= 2.5: a blow-up, PLT008)",
        "first_log_blowup": "the first logged loss / the median of the next three (>= 8 positive points, no divergence "
                            "found): >= 300 is a blow-up before or at the first log line (PLT009)",
        "collapse_acc_peak": "a collapse read from the accuracy and the loss of guessing alone (DIV008): the accuracy's "
                             "peak before its last quarter, in the log's units, else None",
        "collapse_acc_tail": "... the best of the accuracy's last quarter (the class share it fell back to)",
        "collapse_loss_over_guess": "... the loss's last tenth / ln(1 / the accuracy's low) (>= 0.75: back at guessing)",
        "relapse_min": "kind 'relapse': the lowest logged value at or before the onset (where the net stood before the climb)",
        "relapse_min_step": "kind 'relapse': x of relapse_min, the checkpoint to keep",
        "tail_from_step": "train_loss only, kind 'after_last_log': the last logged step; the blow-up came after it",
        "run_steps": "... the run's last step, where its summary of the mean loss was written",
        "tail_mean": "... the mean loss of the steps between them: the run's mean x its steps, less the logged points x "
                     "the steps each averages, over the steps left (advisor.roles.unlogged_tail)",
        "run_mean": "... the run's summary: its mean training loss over every step (the HF Trainer's final train_loss)",
    },
    fn="advisor.signals.divergence:measure_divergence",
))

register(Family(
    name="oscillation",
    roles=LOSSES,
    keys={
        "rel_amplitude": "robust residual amplitude around the trend / trend level (second half)",
        "rel_amplitude_first": "same, first half",
        "sign_change_density": "sign changes of the smoothed derivative per point, 0..1",
        "amplitude_trend": "'growing' | 'persistent' | 'settling'",
        "late_only": "bool: fast early drop, then flat and noisy (LR too large later: seed 003 purple)",
        "epoch_jumps": "bool: jumps at every epoch boundary (unshuffled data)",
        "epoch_jump_ratio": "jump at epoch boundaries / typical within-epoch step change",
        "noise_floor": "the same amplitude expected from a healthy run at this point density",
        "lr_schedule_explains": "bool: the bumps coincide with LR change points (not oscillation)",
        "amplitude_vs_drop": "residual amplitude (second half) / drop achieved from the start: bouncing vs progress",
        "period": "x period of the epoch-boundary jumps (steps_per_epoch or the detected period), or None",
        "val_bounce": "train_loss only: point-to-point bouncing of the val loss / its level (confirms step-level bouncing), or None",
        "noise_vs_start": "second-half residual amplitude / the relative noise the run had at its start x level (>= 3: bouncing grew)",
        "bounce": "point-to-point bouncing of this curve over its last two thirds: robust scale of second differences / sqrt(6) / level",
        "level_rel_start": "second-half trend level / start level (1 = no progress); for losses that are not positive, (level - best) / (start - best)",
        "spike_driven": "bool: called on recurring spikes (>= 5) of this loss while the val loss bounces, not on its residual amplitude",
        "val_settled": "train_loss only: bool, the val loss stopped moving over its last quarter (<= 3% of its level per evaluation): its bouncing did not persist",
        "stalled_bounce": "bool: the bouncing is detected but belongs to a stalled loss (its trend never fell 5% below its start): the plateau rules' evidence, not an oscillation finding",
        "val_moves": "train_loss only: bool or null (under 10 evaluations), the val loss's second half moves as the labellers' oscillating full-batch loss does: mean |change| >= 8.8% of its level, >= 30% of the changes up (on 10-11 evaluations one climb of the half's five changes)",
        "epoch_cumulative": "train_loss only: bool, the per-step loss was logged as its mean since the epoch began (Keras batch logs: moves shrinking as 1/k through each epoch) and is read as the per-step losses that make it",
    },
    fn="advisor.signals.oscillation:measure_oscillation",
))

register(Family(
    name="plateau",
    roles=LOSSES + ("train_acc", "val_acc"),
    keys={
        "length_fraction": "longest flat stretch / run length, 0..1",
        "level_rel_start": "plateau level / start level",
        "at_chance": "bool: level within 10% of ln(C) (C classes) or of the start",
        "breakout": "bool: a significant drop after a long plateau (saddle: seeds 002/004)",
        "breakout_step": "x of the breakout",
        "stalled_high": "bool: flat until the end at a high level (>= 50% of the start level)",
        "ends_flat": "bool: the plateau reaches the end of the run",
        "level_rel_range": "(plateau level - best level) / (start - best level): 1 = at the start, 0 = at the best (scale-free, works for negative losses)",
        "level": "plateau level (median of the trend over the stretch)",
        "rose_above": "the highest bin median (<= 50 bins) of the train or val loss over the larger of its start level and its level over the plateau stretch (1 = never above them; >= 1.5: thrown off by steps too large); None without a loss of 8 points",
        "val_creeps": "bool: the val loss falls steadily over the whole run (Kendall tau of its bin medians <= -0.9): a slow net, not a dead one; None without a val loss",
        "unanchored": "bool: a val loss with no training loss, no class count and no accuracy logged that does not creep down: nothing says where the untrained net stood, so a flat stretch is not detected as a stall (the LR rules PLT005/PLT007 still read it); missing otherwise",
        "acc_learned": "bool: the median val accuracy (else train accuracy) over the run is at least halfway from chance (1/C, else 1/2) to perfect: the net has learned, whatever its loss did; None without an accuracy",
    },
    fn="advisor.signals.plateau:measure_plateau",
))

register(Family(
    name="slow_convergence",
    roles=LOSSES,
    keys={
        "end_slope_rel": "robust slope over the last 25%, as a share of the total drop per 10% of the run",
        "still_improving": "bool: last-quarter slope significantly negative given the noise",
        "remaining_rel": "(last - extrapolated asymptote) / (first - last): how far from done",
        "saturated_early": "bool: reached its final level in the first half",
        "rel_drop": "total relative drop first->last",
        "early_share": "share of the total drop made in the first quarter of the run (trend; on the val loss when logged)",
        "late_start": "bool: still falling materially at the end, but flat first (early_share < 0.10): a stall then a fall, not slow all along",
        "front_share": "early_share of the val loss counted from where the training loss logged by the first evaluation started (less the offset it keeps above the val loss), when that sits > 2x its noise above the val loss's start; > 0.60: converged fast before or soon after the first evaluation, not slow; None when not read",
    },
    fn="advisor.signals.convergence:measure_slow_convergence",
))

register(Family(
    name="overfitting",
    roles=("val_loss",),
    keys={
        "val_min_step": "x of the validation minimum (the early-stopping point)",
        "val_min": "validation minimum",
        "rise_rel": "(val at end - val min) / val min",
        "train_val_ratio": "val / train at the end",
        "orders_apart": "log10(val / train) at the end",
        "gap_trend": "slope sign of (val - train) over the second half: 'widening' | 'stable' | 'closing'",
        "train_falling": "bool: train loss keeps falling after the val minimum",
        "train_share_after_min": "share of the training loss's whole fall (from the median of its first 10% to its trend's end) that came after the val minimum: ~0 when the training set was already memorised there; None without a train loss",
        "train_kept_after_min": "the training loss's trend at the end / its level at the val minimum (running median over a tenth of the points): <= 0.8 when training fell >= 20% after the minimum; None without a train loss or with a trend <= 0 there",
        "val_flat_train_falling": "bool",
        "inconsistent_metric": "bool: val loss rises but the val metric keeps improving",
        "rise_noise": "climb of the val loss after its minimum / its point-to-point noise (>= 3.5: a climb, not a bounce); None when noiseless",
        "trend_rise": "a val loss bouncing under rise_noise's bar: the Theil-Sen climb from its trend's minimum (running median over a sixth of the evaluations) to the end / that level, when significantly up; else None",
        "val_end": "mean of the last 10% of the validation evaluations (>= 2), as logged",
        "rise_logged": "(val_end - lowest logged val) / lowest logged val: the climb in the log's own numbers (rise_rel for a val <= 0)",
        "rise_ratio": "1 + rise_logged: the climb as a ratio, how a summary states one past 100% ('6.95 times it')",
        "never_fell": "bool: the lowest validation value is its first evaluation (no minimum to pass)",
        "loss_metric_disagree": "bool: never_fell while a val metric in [0, 1] went >= half of the way to perfect and >= 25 points: not overfitting",
        "metric_held": "bool: every val metric (accuracy, F1, WER towards 0) ends (median of its last quarter) no worse than at the val minimum; None without one",
        "metric_veto": "bool: the val metric overrules the climb: a climb under 20% that it contradicts (inconsistent_metric) or that left it where it was (metric_held), or loss_metric_disagree",
        "metric_shrugged": "bool: a climb under 20% while a val metric that did not keep improving ended no worse than at the val minimum (metric_held, not inconsistent_metric): vetoes the orders-apart reading too",
        "best_step": "x of the checkpoint to keep: the val metric's best (metric_best_step) where it kept improving after the val loss's minimum, else the val loss's lowest logged evaluation",
        "best_by": "text: '' or ' by <metric>, which kept improving after the loss's minimum (<best> there against <at min>)'",
        "metric_best_step": "x of the val metric's best logged evaluation when it kept improving after the val loss's minimum (its best 3-evaluation mean beats the one there by more than its noise); missing otherwise",
        "metric_best": "the val metric at metric_best_step, as logged",
        "metric_at_min": "the val metric at the val loss's minimum, as logged",
        "metric_name": "the val metric's tag",
    },
    fn="advisor.signals.generalization:measure_overfitting",
))

register(Family(
    name="lr_schedule",
    roles=("lr",),
    keys={
        "kind": "'constant' | 'step' | 'exponential' | 'cosine' | 'linear' | 'warmup' | 'range_test' | 'cyclic' | 'unknown'",
        "warmup": "bool: rises first", "warmup_steps": "x where the warmup ends",
        "change_points": "list of x where the LR changes by a step",
        "max_lr": "largest LR", "min_lr": "smallest LR", "decay_ratio": "last / max",
    },
    fn="advisor.signals.schedule:measure_lr_schedule",
))

register(Family(
    name="spikes",
    roles=("train_loss", "grad_norm"),
    keys={
        "count": "number of isolated spikes (>= k robust sigmas above the local trend, then back)",
        "max_ratio": "largest spike / local trend",
        "p90": "90th percentile of the finite values (the clipping threshold seed advice uses)",
        "first_step": "x of the first spike",
    },
    fn="advisor.signals.spikes:measure_spikes",
))

register(Family(
    name="metric_stall",
    roles=("train_acc", "val_acc"),
    keys={
        "loss_falls": "bool: the matching loss falls significantly",
        "metric_flat": "bool: the accuracy does not improve",
        "metric_gain": "last - first of the accuracy",
        "metric_gain_points": "last - first of the accuracy in percentage points (x 100 for a fraction)",
        "held_learnt": "bool: the accuracy was past halfway from chance to perfect by the first tenth and holds there",
        "never_left_chance": "bool: the accuracy stayed within 10% of the way from chance to perfect for the whole run "
                             "while its loss never fell below the loss of guessing (None: no class count readable)",
        "train_learned": "val_acc only: bool, the training accuracy ends past halfway from chance to perfect and >= 30 "
                         "points above the val accuracy's end (the net learns its training set; None without one)",
    },
    fn="advisor.signals.metrics:measure_metric_stall",
))

register(Family(
    name="lr_range_test",
    roles=("train_loss",),
    keys={
        "is_range_test": "bool: the LR rises geometrically over the run",
        "suggested_lr": "steepest descent in log-LR space after a burn-in",
        "valley_lr": "valley suggestion", "min_lr_over_10": "LR at the loss minimum / 10",
        "agreement": "max/min ratio of the suggestions",
        "informative": "bool: the curve has a clear descent (else no number is given)",
    },
    fn="advisor.signals.lr_range:measure_lr_range_test",
))

register(Family(
    name="progress",
    roles=LOSSES,
    keys={
        "best_drop": "(start - best rolling-median level) / |start|: the most progress ever made, 0..1",
        "start": "median of the first 3 points", "best": "lowest rolling-median level",
    },
    fn="advisor.signals.progress:measure_progress",
))

register(Family(
    name="rl",
    roles=("reward",),
    keys={
        "reward_first": "median of the first 10% of the reward", "reward_last": "median of the last 10%",
        "reward_peak": "highest level of the reward trend", "peak_step": "x of that peak",
        "gain_rel": "(last - first) / the trend's range",
        "learning": "bool: the reward ends >= 25% of its range above its start",
        "flat": "bool: the reward trend's range is <= 5% of its magnitude",
        "dead_policy": "bool: flat reward with a collapsed entropy, a loss of exactly 0 or a KL of exactly 0",
        "collapsed": "bool: the reward rose, then lost >= half of its gain by the end",
        "entropy_last": "|entropy| over the last 10% (nats)", "entropy_collapsed": "bool: <= 0.05 nats",
        "loss_zero": "bool: the loss is exactly 0 over the second half",
        "zero_std_share": "TRL GRPO's frac_reward_zero_std over the last quarter (median): the share of prompt groups whose completions all scored alike",
        "no_signal": "bool: zero_std_share >= 0.9: no completion has an advantage, no gradient reaches the policy",
        "dead_because": "text: what shows nothing reaches the learner (entropy, a loss or KL of exactly 0, groups scoring alike)",
        "kl_max": "largest approximate KL between successive policies",
        "kl_spikes": "number of updates with approx_kl > 0.1",
        "kl_share": "kl_spikes / the updates logged",
        "kl_blowup": "bool: approx_kl > 0.1 in >= 3 updates and >= 5% of them",
    },
    fn="advisor.signals.rl:measure_rl",
))
