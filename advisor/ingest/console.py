"""Console output saved to a file: what Keras `fit`, Megatron-style trainers, Lightning's TQDM bar and
hand-written loops print.

Many runs leave no log file but the terminal's output (`python train.py | tee train.log`, a job's
`slurm-1234.out`, a notebook cell pasted into a chat); FORMATS.md section 7 calls it the real-world
fallback. A `.log`, `.txt` or `.out` file that no other format claims is read under one grammar:

- keras: `Epoch k/N` lines, each followed by the progress bar's output (verbose=1: carriage returns,
  ANSI colours and backspaces around every update; verbose=2: one line). An epoch's record is its
  last update of the epoch's own bar (`12/12 ... - loss: 0.71 - val_loss: 0.66`), at x = k - 1 (Keras
  counts epochs from 0 in its CSVLogger and History); a bar of another length after it, or one that
  adds no metric once the epoch's bar is full (a `model.evaluate` on the test set), is not the epoch's.
- pipes: Megatron-LM, NeMo and GPT-NeoX print `iteration 120/ 3000 | lm loss: 2.3E+00 | learning
  rate: 3.0E-04 | grad norm: 1.2 |` and `validation loss at iteration 100 | lm loss value: ... |`:
  the iteration is the step, every `name: value` field a metric (validation ones prefixed so).
- hf: the dicts transformers' Trainer prints at each logging step and evaluation (`{'loss': 0.52,
  'epoch': 0.12}`), placed at their steps by advisor.ingest.console_hf; the Trainer's printout beside
  its own output_dir (a trainer_state.json up to three levels below) is that run's side output.
- lines: one record per line that names its position (`Epoch [3/20]`, `step 100`, `Step [100/600]`,
  `iter 40`, `batch 7`) and `name: value` or `name=value` pairs (`Epoch 3 | train loss: 0.52 | val
  loss: 0.61`, `step 100: loss=0.52 lr=1e-3`, Lightning's TQDM bar `Epoch 3: 100%|...| train_loss=
  0.52, val_loss=0.61`). A name is a metric (`loss`, `val_acc`, `learning rate`: csv_logs.METRIC_NAME)
  after at most two qualifiers (`train`, `val`, `lm`, ...), so prose (`expect val_acc: 0.9`, `ENV LR=
  0.001`) and the position itself (`Train Epoch: 1`) is no metric. The x is the step when more record
  lines name a step than only an epoch (else the epoch): a step that starts again with each epoch
  (`Epoch [2/3], Step [100/600]`) counts on from the epochs before; a line with only an epoch (the
  epoch's summary between step lines) sits at the last step logged and adds only the metrics that
  step lacks. A bar redrawn at one position is one record, its last state; a TQDM state short of its
  total (`40/400`) is not recorded (it still shows the previous epoch's values). Meter loggers are
  lines too: MetricLogger's (torchvision's references, DETR, DeiT, MAE: `Epoch: [3]  [ 40/782]  lr:
  0.1  loss: 2.31 (2.45)`, the step in the bracket after the epoch) and timm's (`Train: 3 [  40/782 (
  5%)]  Loss: 2.31 (2.45)`) at the value shown first; their evaluation lines (`Test:  [ 10/50]  loss:
  0.8 (0.9)  acc1: 80.0 (78.2)`) as `val_` metrics at the last record before them, each at its
  running average, so the evaluation's last line gives the whole evaluation's. So is Swin
  Transformer's logger (`Train: [3/300][ 40/1251]` then tab-separated `loss 6.91 (6.93)` fields;
  `Test: [ 10/98]` or `Validate:` lines; an epoch's only `Train: [3/50]` line at its averages). A dict
  printed after the position (`epoch 3: {'accuracy': 0.91, 'loss': 0.3}`) gives its metrics too, and so
  do `name value` fields separated by commas or pipes after it, when the line has no `name: value` pair
  (nanoGPT's `step 500: train loss 1.82, val loss 1.98` and `iter 10: loss 4.21, time 25.6ms`, llm.c's
  `step 1/74 | train loss 11.0 | lr 6.0e-04`, `step 1: train loss 11.0 (took 3.7 ms)` and `| loss 11.0
  (+0.00z)| norm ...` with its `val loss 3.28` lines (at the step line after), mlx-lm's `Iter 10: Train
  loss 4.441, Learning Rate ...`). A bar over the whole run's steps (`Steps: 10%|█ | 100/1000 [...,
  lr=1e-05, step_loss=0.123]`: diffusers' training scripts, kohya's sd-scripts) gives a record at each
  redraw's count, its postfix the metrics; an `Epoch k:` bar drawn beside it adds nothing.
  fairseq-train's lines count `num_updates` (`| train_inner | epoch 001: 100 / 800 loss=9.86, ...,
  num_updates=100`); its `| valid | ... | loss 7.9 | ...` lines are the val_ metrics, without the
  best-so-far `best_loss`, and its `| train |` epoch means are no points; another validation subset's
  (`valid on 'valid2' subset`) are `val_valid2_` ones. llm.c's own log file (`s:100 trl:3.28 lr:0.0006
  norm:0.31`, `s:100 tel:3.30`) reads as train_loss / val_loss. TensorFlow Estimator's `Saving dict for
  global step 500: accuracy = 0.61, ..., loss = 1.21` is an evaluation's: the val_ metrics at that step.
  PyTorch's own examples: pytorch/examples' mnist (`Train Epoch: 1 [640/60000 (1%)]\tLoss: 0.31`, the bracket
  after the epoch counting samples, a last short batch's count that goes back placed by its percent; `Test
  set: Average loss: 0.0526, Accuracy: 9832/10000 (98%)` as test_loss and test_accuracy, the fraction) and the
  CIFAR-10 tutorial (`[1,  2000] loss: 2.193`: epoch and minibatch; an epoch whose length is not printed is
  as long as its last printed step, one printing interval more when its count starts at 0). An evaluation
  named right before the position (after a logging prefix: Ignite's `Validation Results - Epoch: 1  Avg loss:
  0.25` beside its `Training Results - ...`, PaddleClas' `[Eval][Epoch 1]`) makes the line's unsplit names val_
  ones, at the record before it. CLU's LoggingWriter (JAX/Flax trainings: `... logging_writer.py:48] [20]
  train_loss=1.16, ...`, `[22] collection=eval loss=0.67`, each evaluation collection's names prefixed with it:
  eval_, valid_, test_) is read at its steps, its `[Hyperparameters] {...}` (a literal dict) as the run's
  hyperparameters.
  A results table, one row an epoch under a header (fastai's in a terminal: `epoch  train_loss  valid_loss
  accuracy  time`, `#na#` for a missing value), gives each row's metrics at its epoch.
  BasicSR's MessageLogger (BasicSR, Real-ESRGAN, GFPGAN, HAT, SwinIR's training, pyiqa: `[train..][epoch:  1, iter:
  1,000, lr:(2.999e-05,)] [eta: ..., time (data): ...] l_pix: 2.6e-03 l_percep: 1.5e-01`, the iteration printed with
  thousands separators) is the `basicsr` grammar: its `l_` terms are the losses (advisor.roles), their sum, the
  objective BasicSR's models back-propagate (`l_total`, `l_g_total` for a GAN's generator; a discriminator's `l_d_`
  terms are apart), added as `l_total` when it prints several and no total; the first LR as `lr`, another
  optimizer's as `lr_group1`, ...; its validation block (`Validation Set5` then `\t # psnr: 27.1\tBest: ... @ 800
  iter` lines) gives val_ metrics (`val_psnr`; another dataset's `val_Set14_psnr`) at the iteration before it.
  A position printed with thousands separators (`iter:   1,000`, `step 12,500`) is read as its number.
  PaddleOCR's trainer (`epoch: [1/12], global_step: 10, loss: ...`) counts `global_step`; its evaluation's `cur
  metric, acc: 0.81, ...` are val_ metrics at the step printed before.
  A script's printed arguments (`print(args)` of an argparse Namespace, one line or one argument a line) in
  the first 64 KiB are the run's hyperparameters: their literal values, parsed with ast, never evaluated.

A file is claimed when its first 16 KiB (1 MiB when they hold only a bar's redraws) show a grammar's
signature with a loss (an `Epoch k/N` block, an iteration line, a TQDM epoch bar) or, for the
Trainer's dicts and plain lines, records with a loss (console_hf.looks_like; MIN_RECORDS); text
without a loss (a README with `lr=0.01`, an app log's `step 1: rows=1000 errors=3`) is left alone.
The lone console log of a folder holding another format's log or a logger's folder (`train.log`
beside its event file or `dvclive/`) is that training's side output, not a second run (it is not
listed); several console logs in one folder are each a run. The file is read as a stream of
lines (carriage returns end a line too), so memory follows the records, not the text. Values are
parsed as numbers or literals only, never evaluated as code.
"""
from __future__ import annotations

import ast
import io
import re
from array import array
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from advisor import limits
from advisor.ingest import console_hf
from advisor.ingest._text import SNIFF_BYTES, SeriesBuilder, head_text, parse_float
from advisor.ingest.csv_logs import METRIC_NAME
from advisor.model import IngestError, Run, RunSource
from advisor.roles import classify

FORMAT = "console"
SUFFIXES = {".log", ".txt", ".out"}
MIN_RECORDS = 3  # plain lines: fewer records are a stray line in a README, not a training's output
# a project's documents: a README.txt quoting a training's output (nanoGPT's lines, say) is no training log
DOC_NAMES = {"readme", "changelog", "changes", "license", "licence", "contributing", "requirements", "notice",
             "authors", "citation", "history"}
# a folder that holds these is a run's log folder: a console log beside it is that run's side output
LOGGER_DIRS = {"dvclive", "lightning_logs", "runs", "logs", "wandb", "mlruns", "tb_logs", "tensorboard"}
HF_STATE = "trainer_state.json"  # the Trainer's own log, in its output_dir's checkpoint-N/ folders
DEEP_SNIFF_BYTES = 1 << 20  # a head of only bar redraws is read this far for its first record
PHASES = {"train", "training", "val", "valid", "validation", "test", "eval", "evaluation", "dev"}
QUALIFIERS = PHASES | {"lm", "avg", "average", "mean", "running", "total", "batch", "epoch", "learning",
                       "top1", "top5", "top-1"}

_ANSI = re.compile(r"\x1b\[[0-9;?]{0,32}[A-Za-z]")
# Every repetition is bounded, names start at a token boundary and words are separated by spaces only
# (a `\w` that also matches the separator lets `a_a_a...` split thousands of ways): a 64 KiB line of
# letters, digits or underscores costs linear time
_NUMBER = console_hf.NUMBER
_WORD = r"[A-Za-z][\w./@-]{0,39}"
_NAME = r"(?<![\w./@-])" + _WORD + r"(?: " + _WORD + r"){0,2}"
_KERAS_EPOCH = re.compile(r"^\s{0,8}Epoch\s{1,4}(\d{1,9})/(\d{1,9})\s{0,8}$")
_KERAS_BAR = re.compile(r"^\s{0,8}(\d{1,12})/(\d{1,12})\b")
_KERAS_PAIR = re.compile(r"\s-\s(" + _WORD + r"):\s(" + _NUMBER + r")(?=\s|$)", re.IGNORECASE)
_PIPE_ITER = re.compile(r"\biteration\s{1,16}(\d{1,12})\s{0,16}/\s{0,16}\d{1,12}\s{0,16}\|", re.IGNORECASE)
_PIPE_VAL = re.compile(r"\bvalidation loss at iteration\s{1,16}(\d{1,12})\s{0,16}\|", re.IGNORECASE)
_PIPE_PAIR = re.compile(r"\|\s{0,8}(" + _WORD + r"(?: [A-Za-z(][\w./()-]{0,39}){0,5})\s{0,4}:\s{0,8}(" + _NUMBER
                        + r")\s{0,8}(?=\||$)", re.IGNORECASE)
# a count printed with thousands separators (`{:,}`: BasicSR's `iter:   1,000`) or without
_COUNT = r"(\d{1,3}(?:,\d{3}){1,4}(?!\d|,\d)|\d{1,12})"
_POSITION = re.compile(r"\b(?<!/)(epoch|global_step|step|iteration|iter|it|batch|num_updates)\b\s{0,4}[:=#]?\s{0,4}\[?\s{0,4}" + _COUNT
                       + r"(?:\s{0,4}/\s{0,4}" + _COUNT + r")?\s{0,4}\]?", re.IGNORECASE)
# BasicSR's MessageLogger: `[train..][epoch:  1, iter:   1,000, lr:(2.999e-05,)] [eta: 2:37:00, time (data): 2.064
# (0.521)] l_mos: 2.6487e-03 train_metrics/srcc: 8.0588e-01 `, and its validation's `Validation koniq10k` line followed
# by a `\t # srcc: 0.9193\tBest: 0.9193 @ 800 iter` line a metric
_BASICSR = re.compile(r"\[epoch:\s{0,8}(\d{1,9}),\s{0,4}iter:\s{0,12}" + _COUNT + r",\s{0,4}lr:\(([-+\d.eE, ]{0,400})\)\]")
_BASICSR_ETA = re.compile(r"\s{0,4}\[eta:[^\]]{0,200}\]")
_BASICSR_PAIR = re.compile(r"(?<!\S)([A-Za-z][\w./@-]{0,79}):\s{1,4}(" + console_hf.NUMBER + r")(?=\s|$)")
# its options dump (basicsr.utils.options.dict2str: `  datasets:[`, `  train:[`), printed before the first iteration,
# often with a long start-up log after it: the head of a BasicSR training's output
_BASICSR_OPTIONS = re.compile(r"^ {2,16}(?:datasets|network_g|network|train|path|logger|val):\[$", re.MULTILINE)
_BASICSR_VAL = re.compile(r"(?:^|\bINFO: )Validation (\S{1,200})\s{0,8}$")
_BASICSR_METRIC = re.compile(r"^\s{0,8}# ([A-Za-z][\w./@-]{0,79}): (" + console_hf.NUMBER + r")(?=\s|$)")
_LINE_PAIR = re.compile(r"(" + _NAME + r")\s{0,4}[:=]\s{0,4}(" + _NUMBER + r")(?![\w.])", re.IGNORECASE)
# meter loggers: MetricLogger's step after its epoch (`Epoch: [3]  [ 40/782]`), timm's train line
# (`Train: 3 [  40/782 ( 5%)]`), an evaluation's line (`Test:  [ 10/50]`, `Test: [  10/49]`) and a
# meter's `name: value (average)`
_BRACKET_STEP = re.compile(r"\s{0,8}\[\s{0,12}(\d{1,12})\s{0,4}/\s{0,4}(\d{1,12})"
                           r"(?:\s{0,4}\(\s{0,4}(\d{1,3}(?:\.\d{1,4})?)\s{0,2}%\s{0,4}\))?\s{0,4}\]")
# the PyTorch CIFAR-10 tutorial's `[epoch, minibatch]` before its fields: `[1,  2000] loss: 2.193` (_tuple_position)
_TUPLE_POSITION = re.compile(r"\[\s{0,4}(\d{1,9}),\s{0,8}(\d{1,12})\s{0,4}\]\s{0,4}(?=[A-Za-z])")  # starts with a literal: fast
# pytorch/examples' word_language_model: `| epoch   1 |   200/ 2983 batches | lr 20.00 | ms/batch 45.62 | loss  7.41 |`
_BATCHES = re.compile(r"(?<![\w/])(\d{1,12})\s{0,4}/\s{0,4}(\d{1,12})\s{1,4}batches\b")
# pytorch/examples' mnist test(): `Test set: Average loss: 0.0526, Accuracy: 9832/10000 (98%)`, an evaluation
# with no position of its own; its accuracy printed as correct/total
_SET_EVAL = re.compile(r"(?:^|[\s:\]|])\s{0,8}(test|val|valid|validation|eval|evaluation|dev)\s{1,4}set\s{0,4}:",
                       re.IGNORECASE)  # also behind a logging prefix (`INFO:root:Test set: ...`)
_FRACTION_PAIR = re.compile(r"(" + _NAME + r")\s{0,4}:\s{0,4}(\d{1,15})\s{0,4}/\s{0,4}(\d{1,15})(?![\w./])",
                            re.IGNORECASE)
_MEAN_WORDS = {"avg", "avg.", "average", "mean"}
# the phase a line names before its position: Ignite's `Validation Results - Epoch: 1  Avg accuracy: 0.93 Avg
# loss: 0.25` (its `Training Results - ...` line prints the same names for the training set)
_EVAL_WORDS = {"val", "valid", "validation", "validate", "test", "testing", "eval", "evaluation", "evaluating", "dev"}
_TRAIN_WORDS = {"train", "training"}
# the text a line prints right before its position: after its last `: `, `] ` or `| ` (a logging prefix, a host
# or logger name, `INFO:val-exp:` are before that), its words
_PREFIX_END = re.compile(r".*(?::\s|\]\s|\|\s)")
_PHASE_WORD = re.compile(r"[A-Za-z][\w.-]{0,39}")
_TIMM_TRAIN = re.compile(r"^\s{0,8}Train:\s{0,4}(\d{1,9})\s{1,8}\[\s{0,12}(\d{1,12})\s{0,4}/\s{0,4}(\d{1,12})\b")
_EVAL_LINE = re.compile(r"^\s{0,8}(?:Test|Val|Valid|Validation|Eval)\s{0,4}:"
                        r"\s{0,8}\[\s{0,12}\d{1,12}\s{0,4}/\s{0,4}\d{1,12}\s{0,4}\]")
_AVERAGE = re.compile(r"\s{1,4}\(\s{0,4}(" + _NUMBER + r")\s{0,4}\)")
# Swin Transformer's logger and its descendants: `Train: [3/300][ 40/1251]\teta 0:10:02 lr 0.000100\t
# time 0.41 (0.43)\tloss 6.91 (6.93)\t...` (the step bracket optional), its evaluation `Test: [ 10/98]\t`
# or `Validate: \t`, and tab-separated fields of `name value (average)`
_SWIN_TRAIN = re.compile(r"\bTrain:\s{0,4}\[(\d{1,9})/\d{1,9}\](?:\s{0,4}\[\s{0,12}(\d{1,12})/(\d{1,12})\])?\s{0,8}\t")
_SWIN_EVAL = re.compile(r"\b(?:Test|Val|Valid|Validate|Validation|Eval):"
                        r"\s{0,8}(?:\[\s{0,12}\d{1,12}/\d{1,12}\])?\s{0,8}\t")
_SPACE_PAIR = re.compile(r"(?<![\w./@:-])(" + _WORD + r")\s{1,4}(" + _NUMBER + r")(?![\w.:%/])")
# `name value` fields separated by commas or pipes after the position, as Karpathy's GPT lectures and
# nanoGPT (`step 500: train loss 1.82, val loss 1.98`, `iter 10: loss 4.21, time 25.6ms`), llm.c
# (`step 1/74 | train loss 11.0 | lr 6.00e-04 | ...`), mlx-lm (`Iter 10: Train loss 4.441, Learning
# Rate 2.000e-05, ...`) and LLMs-from-scratch (`Ep 3 (Step 000120): Train loss 5.407, Val loss 7.646`)
# print them; a number with a unit after it (`25.6ms`, `10.5%`) is no metric's value
_FIELD_PAIR = re.compile(r"(?:^|[,|:]\s{0,8})(" + _WORD + r"(?: " + _WORD + r"){0,2})\s{1,8}(" + _NUMBER
                         + r")(?=\s{0,8}(?:[,|(]|$))", re.IGNORECASE)
# llm.c's validation, on a line of its own before the step it ran at: `val loss 3.2841`
_BARE_VAL = re.compile(r"^\s{0,8}(val(?:id|idation)?[ _]loss)\s{0,4}[:=]?\s{1,4}(" + _NUMBER + r")\s{0,8}$",
                       re.IGNORECASE)
# fairseq's logger names the line's phase in its third field: `... | INFO | train_inner | epoch 001:  100 /
# 800 loss=9.86, ..., num_updates=100`, `... | INFO | valid | epoch 001 | valid on 'valid' subset | loss
# 7.9 | ... | num_updates 800 | best_loss 7.9`, and the epoch's means as `... | INFO | train | epoch 001 |
# loss 8.5 | ...` (a summary of the train_inner lines, not a point of its own)
# each validation subset: `valid`, `valid2`, `test`
_FAIRSEQ_SUBSET = re.compile(r"\bvalid on '([\w.-]{1,60})' subset\b")
_FAIRSEQ_MEANS = re.compile(r"\|\s{0,4}train\s{0,4}\|\s{0,4}epoch\b")
# TensorFlow's Estimator after an evaluation: `INFO:tensorflow:Saving dict for global step 500: accuracy = 0.61,
# global_step = 500, loss = 1.21` (its training lines: `INFO:tensorflow:loss = 1.3, step = 500 (0.51 sec)`)
_TF_EVAL = re.compile(r"\bSaving dict for global step \d{1,12}:")
# a bar over the whole run's optimizer steps, its count the step and its postfix the metrics: diffusers'
# training scripts (`Steps:  10%|█ | 100/1000 [00:10<01:30, 9.8it/s, lr=1e-05, step_loss=0.123]`),
# kohya's sd-scripts (`steps:  10%|...| 100/1000 [..., avr_loss=0.0812]`)
_STEPS_BAR = re.compile(r"(?:^\s{0,8}|\s-\s{1,4})(?:global |training |train )?steps?\s{0,4}:\s{0,4}\d{1,3}%\|",
                        re.IGNORECASE)  # also after a logging prefix (`... - INFO - __main__ - Steps: ...`)
# llm.c's own log file (-o DIR: DIR/main.log, what its dev/vislog.ipynb plots): `s:100 trl:3.2841 lr:0.000600
# norm:0.31`, `s:100 tel:3.3012` (the val loss) and `s:100 eval:0.2911` (HellaSwag accuracy)
_LLMC_LOG = re.compile(r"^s:(\d{1,12}) (trl|tel|eval):(" + _NUMBER + r")(?:\s|$)")
_LLMC_NAMES = {"trl": "train_loss", "tel": "val_loss", "eval": "val_hellaswag_acc"}
_LLMC_LR = re.compile(r"\blr:(" + _NUMBER + r")(?=\s|$)")
# a results table printed one row an epoch under a header naming its columns: fastai's (fastprogress' console
# bar: `epoch     train_loss  valid_loss  accuracy  time    ` then `0         1.957760    1.649418    0.721448
# 00:00     `, `#na#` where a value is missing)
_TABLE_HEAD = re.compile(r"^\s{0,8}epoch((?:\s{1,16}[A-Za-z_][\w./@%-]{0,39}){1,40})\s{0,16}$")
_TABLE_ROW = re.compile(r"^\s{0,8}(\d{1,9})((?:\s{1,40}\S{1,40}){1,40})\s{0,40}$")
# CLU's LoggingWriter (JAX/Flax trainings: flax's examples, big_vision, scenic), on absl's log lines (`I1206
# 20:55:06.732527 1397 logging_writer.py:48] [20] steps_per_second=4048.17, train_accuracy=0.757812, train_loss=
# 1.16746`), a writer's collection after the step (`[22] collection=eval accuracy=0.79, loss=0.67`), and its
# write_hparams (`[Hyperparameters] {'learning_rate': 0.1, ...}`, a literal dict)
_CLU = re.compile(r"(?:^\s{0,8}|logging_writer\.py:\d{1,6}\]\s|:absl:)\[(\d{1,12})\](?: collection=([\w./-]{1,60}))? "
                  r"(?=[A-Za-z_][\w./-]{0,79}=)")
_TQDM = console_hf.TQDM
_TQDM_EPOCH = re.compile(r"\bEpoch\s{1,4}\d{1,9}:\s{0,8}\d{1,3}%\|")
_BAR_PERCENT = re.compile(r"\d{1,3}%\|")  # where a TQDM bar's description ends
# fairseq counts `num_updates`; PaddleOCR's trainer prints `epoch: [1/12], global_step: 10, loss: ...`
_STEP_NAMES = ("global_step", "step", "iteration", "iter", "it", "batch", "num_updates")
# PaddleOCR's evaluation, with no position of its own: `cur metric, acc: 0.81, norm_edit_dis: 0.90, fps: 98765.4`
# (its `best metric, ...` line is the best so far, no curve)
_CUR_METRIC = re.compile(r"\bcur metric,\s")
_CUR_METRIC_BOOKKEEPING = {"fps", "count", "is_float16", "best_epoch", "start_epoch", "epoch", "steps", "step"}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# a line about a checkpoint before its position (`[Checkpoint] Saved -> best.pth  (epoch=19, val_acc=65.6)`, `Loaded
# ckpt ... (epoch=20, val_loss=1.05)`, `Saving best model at epoch 4, val_acc=0.93`): the values it repeats or reloads
# are the checkpoint's metadata, not a record (reloaded, `epoch=20, val_loss=1.05` would be a point long after epoch 20)
_CHECKPOINT = re.compile(r"checkpoint|ckpt|\w\.(?:pth?|ckpt|h5|hdf5|keras|safetensors)\b|"
                         r"\b(?:sav(?:ed?|ing)|load(?:ed|ing)?|restor(?:ed?|ing)|resum(?:ed?|ing))\b.{0,40}\bmodel\b",
                         re.IGNORECASE)


Record = tuple[int, dict[str, float]]  # (x, metric values) of one step or epoch


def _count(text: str) -> int:
    """A printed count, with or without thousands separators (`1,000`)."""
    return int(text.replace(",", ""))


def _basicsr(line: str) -> Position | None:
    """A BasicSR MessageLogger line (`[train..][epoch:  1, iter:   1,000, lr:(2.999e-05,)] [eta: ...] l_pix: 2.6e-03
    ...`): (epoch, iteration, None, its printed terms, the LRs, and `l_total` when it prints several loss terms and
    no total); None when the line is none."""
    m = _BASICSR.search(line) if "[epoch:" in line else None
    if m is None:
        return None
    eta = _BASICSR_ETA.match(line, m.end())
    pairs = _numbers(_BASICSR_PAIR.findall(line, eta.end() if eta else m.end()))
    terms = [k for k in pairs if k.startswith("l_") and not k.startswith("l_d_")]
    if len(terms) > 1 and not {"l_total", "l_g_total"} & set(pairs):
        pairs["l_total"] = sum(pairs[k] for k in terms)  # what the model back-propagates: BasicSR's own l_total
    rates = [parse_float(v) for v in m.group(3).split(",") if v.strip()]
    for i, rate in enumerate(rates):
        if rate is not None:
            pairs["lr" if i == 0 else f"lr_group{i}"] = rate
    return int(m.group(1)), _count(m.group(2)), None, pairs


def _has_loss(pairs: dict[str, float]) -> bool:
    return any(classify(k).kind == "loss" for k in pairs)


def _screen(lines: Iterable[str]) -> Iterator[str]:
    """Each line as a terminal shows it: ANSI codes and backspaces gone."""
    for line in lines:
        yield _ANSI.sub("", line).replace("\b", "")


def _numbers(found: list[tuple[str, str]]) -> dict[str, float]:
    return {k.strip(): v for k, raw in found for v in [parse_float(raw)] if v is not None}


def _keras(lines: Iterable[str]) -> Iterator[Record]:
    """Keras `fit`: (k - 1, the last update of the epoch's own bar) per `Epoch k/N` block."""
    epoch = total = last = None
    done = False
    for line in lines:
        m = _KERAS_EPOCH.match(line)
        if m:
            if epoch is not None and last:
                yield epoch, last
            epoch, total, last, done = int(m.group(1)) - 1, None, None, False
            continue
        bar = _KERAS_BAR.match(line)
        if epoch is None or bar is None:
            continue
        total = total or bar.group(2)
        pairs = _numbers(_KERAS_PAIR.findall(line))
        if bar.group(2) != total or not any(METRIC_NAME.search(k) for k in pairs):
            continue
        # once the bar is full, only the epoch-end update that adds the val metrics replaces it (an
        # evaluate() whose bar has the same length prints the same keys, or fewer)
        if last is None or not done or set(pairs) > set(last):
            last = pairs
        done = done or bar.group(1) == bar.group(2)
    if epoch is not None and last:
        yield epoch, last


def _pipes(lines: Iterable[str]) -> Iterator[Record]:
    """Megatron-style iteration lines (and validation lines): (iteration, every `name: value` field)."""
    for line in lines:
        m = _PIPE_ITER.search(line)
        prefix = ""
        if m is None:
            m, prefix = _PIPE_VAL.search(line), "validation "
            if m is None:
                continue
        pairs = {prefix + k: v for k, v in _numbers(_PIPE_PAIR.findall(line[m.end() - 1:])).items()
                 if not (prefix and "ppl" in k.lower())}  # a validation PPL restates its loss
        if any(METRIC_NAME.search(k) for k in pairs):
            yield int(m.group(1)), pairs


@lru_cache(maxsize=4096)  # a log repeats its few names on every line
def _metric_name(name: str) -> bool:
    """A metric after at most two qualifiers: `loss`, `val loss`, `train_acc`, `learning rate`, `lm loss`;
    qualifiers alone are none (timm's `Train: 3 [...]` names the phase)."""
    words = name.split()
    return (bool(METRIC_NAME.search("_".join(words))) and all(w.lower() in QUALIFIERS for w in words[:-1])
            and words[-1].lower() not in PHASES)


def _meter_pairs(line: str, pair: re.Pattern, start: int = 0, val: bool = False,
                 averages: bool = True) -> dict[str, float]:
    """A meter line's metrics, each at its running average when printed and `averages` (`loss 6.91
    (6.93)`: 6.93): an evaluation's last line, or an epoch's only line, then holds the whole
    evaluation's or epoch's mean; else at the value shown first. `val`: named as `val_` metrics (an
    evaluation's)."""
    pairs = {}
    for m in pair.finditer(line, start):
        name = m.group(1).strip()
        if not _metric_name(name):
            continue
        average = _AVERAGE.match(line, m.end()) if averages else None
        value = parse_float(average.group(1) if average else m.group(2))
        if value is not None:
            pairs["val_" + name if val and classify(name).split != "val" else name] = value
    return pairs


def _bracket_step(bracket: re.Match, epoch: int, within: tuple[int, int, float] | None) -> tuple[int, int]:
    """The step (and its total) of an epoch's `[n/N (p%)]` bracket. pytorch/examples' mnist prints `batch_idx *
    len(data)` of `len(dataset)` samples: at a last, shorter batch the count goes back (`[638/1437 (96%)]`
    after `[1280/1437 (87%)]`) while its percent goes on; such a count is placed by its percent. A count whose
    percent goes back too is the epoch run again (a resumed run): left as printed, a restart."""
    step, total = int(bracket.group(1)), int(bracket.group(2))
    pct = float(bracket.group(3))
    if within is not None and within[0] == epoch and step < within[1] and pct >= within[2]:
        step = max(within[1] + 1, round(pct * total / 100))
    return step, total


def _set_pairs(line: str, evaluation: re.Match) -> dict[str, float]:
    """An evaluation's `<Test> set:` line as `<test>_` metrics: `Average loss: 0.0526` as test_loss (the
    average is what is printed), `Accuracy: 9832/10000 (98%)` as test_accuracy 0.9832."""
    prefix = evaluation.group(1).lower() + "_"
    pairs: dict[str, float] = {}
    starts = set()  # where each fraction starts: its own `name: a` is no second pair (one lookup each: linear)
    for m in _FRACTION_PAIR.finditer(line, evaluation.end()):
        total = int(m.group(3))
        if total > 0:
            pairs[m.group(1).strip()] = int(m.group(2)) / total
            starts.add(m.start())
    for m in _LINE_PAIR.finditer(line, evaluation.end()):
        if m.start() not in starts:
            value = parse_float(m.group(2))
            if value is not None:
                pairs.setdefault(m.group(1).strip(), value)
    named = {}
    for name, value in pairs.items():
        words = [w for w in name.lower().split() if w not in _MEAN_WORDS]
        if words and _metric_name(" ".join(words)):
            named[prefix + "_".join(words)] = value
    return named


def _tuple_position(line: str) -> re.Match | None:
    """The CIFAR-10 tutorial's `[epoch, minibatch]` at the line's start or after a prefix's space, colon or
    bracket (`INFO [1,  2000] loss:`, a tqdm bar's `...it/s][1,  2000] loss:`), not inside a value."""
    for m in _TUPLE_POSITION.finditer(line):
        if m.start() == 0 or line[m.start() - 1] in " \t:]":
            return m
    return None


def _evaluation_phase(line: str, end: int) -> bool:
    """Whether the words right before a line's position name an evaluation and not training (`Validation
    Results - Epoch: 1`, `[Eval][Epoch 1]`), not a host, logger or experiment name earlier on the line
    (`[dev-gpu01] Epoch 1/10`, `INFO:val-exp:Epoch 1`, `... train INFO: Validation Results - ...`)."""
    head = line[:end]
    cut = _PREFIX_END.match(head)
    words = {w.lower() for w in _PHASE_WORD.findall(head, cut.end() if cut else 0)}
    return bool(words & _EVAL_WORDS) and not words & _TRAIN_WORDS


Position = tuple[int | None, int | None, int | None, dict[str, float]]  # (epoch, step, its printed total, pairs)
Positioned = tuple[int | None, int | None, int | None, dict[str, float], bool]  # ... and whether a bar's postfix


def _evaluation_bar(line: str, bar: re.Match) -> bool:
    """Whether a TQDM bar's description names an evaluation and not training (`Epoch 001 [Val]  : 100%|`,
    `Validating: 100%|`, `eval epoch 3: 100%|`): its postfix (`acc=60.9%, loss=0.99`) is the evaluation's."""
    percent = _BAR_PERCENT.search(line, 0, bar.start() + 1)
    words = {w.lower() for w in _PHASE_WORD.findall(line, 0, percent.start() if percent else bar.start())}
    return bool(words & (_EVAL_WORDS | {"validating"})) and not words & _TRAIN_WORDS


def _positioned(lines: Iterable[str]) -> Iterator[Positioned]:
    """(epoch, step, the step's printed total, metric pairs, whether a TQDM bar's postfix gave them) of every
    line that names a position; an evaluation's line (a meter logger's `Test:  [ 10/50]`) as (None, None, None,
    its val_ pairs, False), and so is a bar whose description names one (`Epoch 3 [Val]: 100%|`: val_ pairs at
    its position). The layouts are read by the helpers below; this loop keeps what one line leaves for the next."""
    pending: dict[str, float] = {}  # llm.c's `val loss 3.28`, printed before its step's line
    within: tuple[int, int, float] | None = None  # the last (epoch, step, percent) an `[n/N (p%)]` bracket gave
    steps_bar = False  # a bar over the run's steps was drawn: it holds the points
    columns: list[str] | None = None  # a results table's header, when one was printed
    basicsr = False  # a BasicSR training line was read: its validation blocks follow
    validation: str | None = None  # the dataset of the BasicSR validation block being read
    datasets: list[str] = []  # ... and of every block so far (the first one's metrics are plain val_)
    for line in lines:
        if basicsr:
            metric = _BASICSR_METRIC.match(line) if validation is not None else None
            if metric:  # `\t # psnr: 27.1\tBest: 27.3 @ 800 iter`: the block's value, at the iteration before it
                value = parse_float(metric.group(2))
                prefix = "val_" if validation == datasets[0] else f"val_{validation}_"
                if value is not None:
                    yield None, None, None, {prefix + metric.group(1): value}, False
                continue
            block = _BASICSR_VAL.search(line) if "Validation " in line else None
            validation = block.group(1) if block else None
            if block and validation not in datasets:
                datasets.append(validation)
            if block:
                continue
        record = _basicsr(line)
        if record is not None:
            basicsr = True
            if record[3]:
                yield (*record, False)
            continue
        if line[:1] in "e " and line[:16].lstrip().startswith("epoch"):
            head = _TABLE_HEAD.match(line)
            if head:
                names = head.group(1).split()
                columns = names if any(_metric_name(n) for n in names) else columns
                continue
        if columns is not None and line[:1] in " 0123456789":
            row = _table_row(line, columns)
            if row is not None:
                if row[3]:
                    yield (*row, False)
                continue
        bar = _TQDM.search(line)
        evaluation_bar = False
        if bar is not None:
            if steps_bar and _TQDM_EPOCH.search(line):
                continue  # an epoch's bar beside the steps bar: its postfix repeats a step's values, late
            if _STEPS_BAR.search(line, 0, bar.start() + 1):  # each redraw at its step, with its postfix
                steps_bar = True
                pairs = {k: v for k, v in _numbers(_LINE_PAIR.findall(line, bar.end())).items() if _metric_name(k)}
                if pairs:
                    if pending:
                        pairs, pending = {**pending, **pairs}, {}
                    yield None, int(bar.group(1)), int(bar.group(2)), pairs, False  # the run's own records
                continue
            if bar.group(1) != bar.group(2):
                line = _after_bar(line, bar)
                if not line:
                    continue
                bar = None  # a line printed beside the bar: no bar's record
            else:
                evaluation_bar = _evaluation_bar(line, bar)
        bare = _BARE_VAL.match(line)
        if bare:  # held for the step line that follows it
            value = parse_float(bare.group(2))
            if value is not None:
                pending[bare.group(1)] = value
            continue
        record = _unpositioned(line)
        if record is None:
            record, within = _position_record(line, within)
        if record is not None and record[3]:
            if evaluation_bar:  # `Epoch 3 [Val]: 100%|...| 25/25 [..., acc=60.9%, loss=0.99]`
                record = (*record[:3], {("val_" + k if classify(k).split is None else k): v
                                        for k, v in record[3].items()})
            if pending and (record[0] is not None or record[1] is not None):
                record, pending = (*record[:3], {**pending, **record[3]}), {}
            yield (*record, bar is not None)
    if pending:  # a validation after the last step line: at that line's record
        yield None, None, None, pending, False


def _table_row(line: str, columns: list[str]) -> Position | None:
    """A results table's row under its header (fastai's): every column but its clock is a metric the table was
    asked to show (`rmse`, `mae`, `f1_score` as much as `valid_loss`); None when the line is no row of it."""
    row = _TABLE_ROW.match(line)
    cells = row.group(2).split() if row else []
    if len(cells) != len(columns):
        return None
    pairs = {n: v for n, cell in zip(columns, cells) if n.lower() != "time" for v in [parse_float(cell)] if v is not None}
    return int(row.group(1)), None, None, pairs


def _after_bar(line: str, bar: re.Match) -> str:
    """What follows a TQDM state short of its total: a line printed while the bar was drawn (print() beside
    tqdm, no newline between) after the bar's closing bracket, or nothing (the state still shows the last
    epoch's values)."""
    close = line.find("]", bar.end())
    rest = line[close + 1:] if close >= 0 else ""
    return rest if _POSITION.search(rest) or _tuple_position(rest) else ""


def _unpositioned(line: str) -> Position | None:
    """The layouts whose lines carry their own step or none: llm.c's log file (`s:100 trl:3.28`), CLU's
    LoggingWriter (`[20] train_loss=...`), and evaluations placed at the record before them (a meter logger's
    `Test: [ 10/50]`, pytorch/examples' `Test set:`, PaddleOCR's `cur metric,`, Swin's tab-separated lines).
    None when the line is none of these (an empty record when it is one without a metric)."""
    if line.startswith("s:"):
        llmc = _LLMC_LOG.match(line)
        if llmc:
            value = parse_float(llmc.group(3))
            pairs = {_LLMC_NAMES[llmc.group(2)]: value} if value is not None else {}
            lr = _LLMC_LR.search(line, llmc.end()) if llmc.group(2) == "trl" else None
            rate = parse_float(lr.group(1)) if lr else None
            if rate is not None:
                pairs["lr"] = rate
            return None, int(llmc.group(1)), None, pairs
    clu = _CLU.search(line) if "=" in line else None
    if clu and (clu.start() or not _POSITION.search(line, clu.end())):  # `[0] step=100 loss=..`: a rank prefix
        # an evaluation collection's names carry it (`valid_loss`, `test_loss`: two collections, two curves)
        prefix = clu.group(2) + "_" if clu.group(2) and classify(clu.group(2)).split == "val" else ""
        pairs = {(prefix + k if prefix and classify(k).split is None else k): v
                 for k, v in _numbers(_LINE_PAIR.findall(line, clu.end())).items() if _metric_name(k)}
        return None, int(clu.group(1)), None, pairs
    if _EVAL_LINE.match(line):
        pairs = _meter_pairs(line, _LINE_PAIR, val=True)
        if not pairs and "\t" in line:  # pytorch/examples' imagenet: `Test: [ 50/196]\tTime ...\tLoss 6.0 (6.0)`
            pairs = _meter_pairs(line, _SPACE_PAIR, val=True)
        return None, None, None, pairs
    evaluation = _SET_EVAL.search(line) if " set" in line else None
    if evaluation:
        return None, None, None, _set_pairs(line, evaluation)
    current = _CUR_METRIC.search(line) if "cur metric" in line else None
    if current:  # every number it prints is the evaluation's metric (`hmean` as much as `acc`), but its speed
        return None, None, None, {("val_" + k if classify(k).split is None else k): v
                                  for k, v in _numbers(_LINE_PAIR.findall(line, current.end())).items()
                                  if k.lower() not in _CUR_METRIC_BOOKKEEPING}
    if "\t" in line:  # Swin's logger: tab-separated `name value (average)` fields
        swin = _SWIN_TRAIN.search(line)
        if swin:  # a step's line at its values, an epoch's only line (no step bracket) at its averages
            pairs = _meter_pairs(line, _SPACE_PAIR, swin.end(), averages=not swin.group(2))
            step = (int(swin.group(2)), int(swin.group(3))) if swin.group(2) else (None, None)
            return int(swin.group(1)), step[0], step[1], pairs
        evaluation = _SWIN_EVAL.search(line)
        if evaluation:
            return None, None, None, _meter_pairs(line, _SPACE_PAIR, evaluation.end(), val=True)
    return None


def _position_record(line: str, within: tuple[int, int, float] | None
                     ) -> tuple[Position | None, tuple[int, int, float] | None]:
    """A line that names its position (`Epoch [3/20]`, `step 100`, MetricLogger's and timm's brackets, the CIFAR
    tutorial's `[1,  2000]`, word_language_model's `200/ 2983 batches`) and its `name: value` / `name value`
    fields: its record (None for none), and the percent bracket's state for the next line."""
    positions: dict[str, tuple[int, int | None]] = {}
    timm = _TIMM_TRAIN.match(line)
    if timm:
        positions["epoch"] = (int(timm.group(1)), None)
        positions["step"] = (int(timm.group(2)), int(timm.group(3)))
    after = timm.end() if timm else None  # where the position ends: the fields follow it
    first = None  # the first position's match: a phase named before it is the line's
    for m in _POSITION.finditer(line):
        if after is None:
            after, first = m.end(), m
        key = m.group(1).lower()
        positions.setdefault(key, (_count(m.group(2)), _count(m.group(3)) if m.group(3) else None))
        bracket = _BRACKET_STEP.match(line, m.end()) if key == "epoch" and m.group(3) is None else None
        if bracket and bracket.group(3) is None:  # MetricLogger: `Epoch: [3]  [ 40/782]`
            positions.setdefault("step", (int(bracket.group(1)), int(bracket.group(2))))
        elif bracket:  # pytorch/examples: `Train Epoch: 1 [640/60000 (1%)]`
            positions.setdefault("step", _bracket_step(bracket, positions["epoch"][0], within))
            within = (positions["epoch"][0], positions["step"][0], float(bracket.group(3)))
    if "batches" in line and "step" not in positions:  # word_language_model: `|   200/ 2983 batches |`
        counted = _BATCHES.search(line)
        if counted:
            positions["batch"] = (int(counted.group(1)), int(counted.group(2)))
    if not positions and "," in line and "[" in line:  # the CIFAR-10 tutorial: `[1,  2000] loss: 2.193`
        pair = _tuple_position(line)
        if pair:
            positions["epoch"], positions["step"] = (int(pair.group(1)), None), (int(pair.group(2)), None)
            after = pair.end()
    if not positions or ("train" in line and "|" in line and _FAIRSEQ_MEANS.search(line)):
        return None, within  # no position, or fairseq's epoch means (its train_inner lines hold the points)
    if first is not None and _CHECKPOINT.search(line, 0, first.start()):
        return None, within  # a checkpoint's note: `[Checkpoint] Loaded <- best.pth (epoch=20, val_loss=1.05)`
    subset = _FAIRSEQ_SUBSET.search(line) if " subset" in line else None
    found = _LINE_PAIR.findall(line)
    if not found:  # `step 500: train loss 1.82, val loss 1.98`
        found = _FIELD_PAIR.findall(line, after)
    pairs = {k: v for k, v in _numbers(found).items()
             if k.split()[-1].lower() not in _STEP_NAMES + ("epoch",) and _metric_name(k)}
    # an evaluation's: the val_ metrics; a best-so-far value is no curve
    if subset or ("Saving dict" in line and _TF_EVAL.search(line)):
        # fairseq's other validation subsets apart: `valid2`'s loss is val_valid2_loss
        prefix = "val_" if not subset or subset.group(1) == "valid" else f"val_{subset.group(1)}_"
        pairs = {(prefix + k if classify(k).split != "val" else k): v for k, v in pairs.items()
                 if not k.lower().startswith("best")}
    if not pairs and "\t" in line:  # tab-separated meters (pytorch/examples' imagenet: `Loss 6.9 (6.9)`)
        pairs = _meter_pairs(line, _SPACE_PAIR, after, averages=False)
    if "{'" in line or '{"' in line:  # a dict after the position (HF no_trainer's `epoch 3: {'accuracy': ...}`)
        pairs.update(console_hf.metrics(console_hf.parse(line) or {}))
    if not subset and first is not None and first.start() and _evaluation_phase(line, first.start()):
        # an evaluation's line (`Validation Results - Epoch: 1  Avg loss: 0.25`, PaddleClas' `[Eval][Epoch 1]
        # [Iter: 3/10]`): its metrics are val_, at the record before it (its iteration counts the eval loader)
        return (None, None, None, {("val_" + k if classify(k).split is None else k): v for k, v in pairs.items()}), within
    step, total = next((positions[k] for k in _STEP_NAMES if k in positions), (None, None))
    return (positions.get("epoch", (None, None))[0], step, total, pairs), within


def _epoch_length(first: int | None, gap: int | None, last: int | None) -> int:
    """An epoch's length in steps when its lines print no total (the CIFAR-10 tutorial's `[2,  2000]`): its
    last printed step, and one gap more when the count starts at 0 (`batch_idx` 0, 100, ... 900: the
    epoch holds about 1,000), so the next epoch's points sit as far apart as the printing interval."""
    if last is None:
        return 0
    if first is not None and gap is not None and 0 <= first < gap:
        return last + gap - first
    return last


def _lines(lines: Iterable[str], by_step: bool) -> Iterator[Record]:
    """Lines naming their position, on one axis: the step when the log counts steps (`by_step`), a step
    that starts again when the epoch moves on counting on from the epoch before (by its printed
    total, else from just past the last step); an epoch-only line (a summary between step lines) at
    the last step, adding only the metrics the step line there lacks; else the epoch. A bar redrawn
    at one position is one record, its last state winning."""
    offset, last, last_epoch = 0, None, None
    first = gap = raw = None  # the epoch's first printed step, the gap between its last two, the last one
    held: Record | None = None
    own: set[str] = set()  # the metrics the held record's own step (or epoch) line set
    barred: set[str] = set()  # ... and those a TQDM bar's postfix gave it
    for epoch, step, total, pairs, from_bar in _positioned(lines):
        evaluation = epoch is None and step is None
        summary = (by_step and step is None) or evaluation
        if evaluation:
            x = held[0] if held is not None else None
        elif not by_step:
            x = epoch
        elif step is None:
            x = last
        else:
            if epoch is not None and last_epoch is not None and epoch < last_epoch:
                offset, first, gap = 0, None, None  # the epochs start again: another run appended, a restart
            x = step + offset
            if last is not None and x <= last and epoch is not None and last_epoch is not None and epoch > last_epoch:
                offset += total if total else _epoch_length(first, gap, raw)
                if step + offset <= last:
                    offset = last + 1 - step
                x = step + offset
                first = gap = None
            if first is None:
                first = step
            elif raw is not None and step > raw:
                gap = step - raw
            raw = step
            last, last_epoch = x, epoch if epoch is not None else last_epoch
        if x is None:
            continue
        if held is not None and held[0] == x:
            pairs = _beside_bar(held[1], barred, pairs, from_bar)
            for k, v in pairs.items():
                if not summary:
                    held[1][k] = v
                    own.add(k)
                elif k not in own:  # the epoch's mean of `loss` is not the step's `loss`
                    held[1][k] = v
                else:
                    continue
                if from_bar:
                    barred.add(k)
                else:
                    barred.discard(k)
            continue
        if held is not None:
            yield held
        held = (x, dict(pairs))
        own = set() if summary else set(pairs)
        barred = set(pairs) if from_bar else set()
    if held is not None:
        yield held


def _measures(name: str) -> tuple[str | None, str]:
    """What a record's metric measures and on which split (a name without one is the training's)."""
    c = classify(name)
    return c.kind, c.split or "train"


def _beside_bar(held: dict[str, float], barred: set[str], pairs: dict[str, float], from_bar: bool) -> dict[str, float]:
    """A record's pairs where a TQDM bar's postfix and a printed line give the same quantity at one position
    (`Epoch 001 [Train]: 100%|...| acc=48.5%, loss=1.05` and then `Epoch [001/30] TrainLoss=1.87 TrainAcc=48.5%`):
    the line's value is the epoch's (a bar shows its last batch or a running mean), so the bar's is no point
    there. A line's pairs drop the held bar values they measure again; a bar's pairs leave out what a line gave."""
    if from_bar:
        lined = {_measures(k) for k in held if k not in barred and classify(k).kind is not None}
        return {k: v for k, v in pairs.items() if classify(k).kind is None or _measures(k) not in lined}
    given = {_measures(k) for k in pairs if classify(k).kind is not None}
    for k in [k for k in barred if k in held and classify(k).kind is not None and _measures(k) in given]:
        del held[k]
        barred.discard(k)
    return pairs


def _counts_steps(lines: Iterable[str]) -> bool:
    """Whether the log counts steps: more of its record lines name a step (or iteration, batch) than
    name only an epoch (one `Resumed at step 50000` among 500 epoch lines does not make it a step log)."""
    steps = epochs = 0
    for epoch, step, _, _, _ in _positioned(lines):
        steps += step is not None
        epochs += step is None and epoch is not None
    return steps > epochs


def records(grammar: str, lines: Iterable[str], by_step: bool = True,
            hf_axis: console_hf.Axis | None = None) -> Iterator[Record]:
    """The records of `lines` under one grammar, on the axis its first pass chose (plain lines:
    `by_step`, from `_counts_steps`; hf: `hf_axis`, from console_hf.axis)."""
    if grammar == "keras":
        return _keras(lines)
    if grammar == "pipes":
        return _pipes(lines)
    if grammar == "hf":
        return console_hf.records(lines, hf_axis or console_hf.Axis())
    return _lines(lines, by_step)


def sniff(text: str) -> str | None:
    """The grammar a file's head shows, or None: a Keras epoch block, an iteration line, a BasicSR MessageLogger
    line with an `l_` term or a TQDM epoch bar with a loss in it (one is enough: a verbose bar fills 16 KiB before its first epoch ends); else
    the Trainer's dicts or plain-line records with a loss, whichever the head holds more of (a config
    dict printed before a loop's lines is no Trainer log), MIN_RECORDS plain lines at least."""
    lines = list(_screen(_LINE_BREAK.split(text)))  # as read() splits: carriage returns and newlines only
    if any(_has_loss(pairs) for _, pairs in _keras(lines)):
        return "keras"
    if any(_has_loss(pairs) for _, pairs in _pipes(lines)):
        return "pipes"
    if any(record is not None and any(k.startswith("l_") for k in record[3]) for record in map(_basicsr, lines)):
        return "basicsr"  # its losses are `l_` terms
    dicts = console_hf.looks_like(lines)
    if not dicts and any(_TQDM_EPOCH.search(line) and "loss" in line.lower() for line in lines):
        return "lines"
    plain = sum(_has_loss(pairs) for _, pairs in _lines(lines, _counts_steps(lines)))
    if dicts and dicts > plain:
        return "hf"
    return "lines" if plain >= MIN_RECORDS else None


def too_few_records(path: Path) -> int:
    """How many training records (a position and a loss: a Trainer's dict, a JSON line, a plain line) a file
    no grammar claimed holds in its head, when it holds some but fewer than a log needs (MIN_RECORDS plain
    lines, console_hf.MIN_DICTS dicts); else 0. DETR's `log.txt` after one epoch of two launches holds 2."""
    if path.suffix.lower() not in SUFFIXES or path.stem.lower().split(".")[0] in DOC_NAMES:
        return 0
    head = head_text(path)
    if sniff(head):
        return 0
    lines = list(_screen(_LINE_BREAK.split(head)))
    plain = sum(_has_loss(pairs) for _, pairs in _lines(lines, _counts_steps(lines)))
    dicts, _ = console_hf.count_dicts(lines)
    found = max(plain, dicts)
    return found if found < max(MIN_RECORDS, console_hf.MIN_DICTS) else 0


# a logging library's line prefix: absl/glog (`I1206 20:55:06.73 ...`), a timestamp, a level name
_LOG_PREFIX = re.compile(r"^(?:[IWEF]\d{4} \d\d:\d\d:\d\d|\[?\d{4}[-/]\d\d[-/]\d\d[ T]\d\d:\d\d|"
                         r"(?:INFO|WARNING|ERROR|DEBUG)[:\s])", re.MULTILINE)
PREAMBLE_LINES = 20


def _long_preamble(head: str) -> bool:
    """A full head (16 KiB) of logging lines and no training record yet: a long start-up log."""
    return len(head) >= SNIFF_BYTES - 1024 and len(_LOG_PREFIX.findall(head)) >= PREAMBLE_LINES


def claim(tree) -> list[RunSource]:
    """Claim the console logs among the files no other format took (one run per file). The lone console
    log of a folder that holds another format's log, or a logger's folder (`dvclive/`,
    `lightning_logs/`, `runs/`...), is that run's side output: left alone. Several console logs in
    one folder are several trainings, whatever sits beside them."""
    candidates = [p for p in tree.unclaimed() if p.suffix.lower() in SUFFIXES
                  and p.stem.lower().split(".")[0] not in DOC_NAMES]
    per_folder: dict[Path, int] = {}
    for path in candidates:
        per_folder[path.parent] = per_folder.get(path.parent, 0) + 1
    holding = {p.parent for p in tree.claimed}  # folders with a claimed log in them
    under: set[Path] = set()  # ... and every folder up to four levels above one
    for p in tree.claimed:
        under.update(p.parents[:4])
    # folders with a Trainer's state file up to three levels below (output_dir/checkpoint-N/)
    trainer_above = {a for p in tree.claimed if p.name == HF_STATE for a in p.parents[:4]}
    sources = []
    for path in candidates:
        folder = path.parent
        beside_a_log = folder in holding or any((folder / d) in under for d in LOGGER_DIRS)
        if per_folder[folder] == 1 and beside_a_log:
            continue
        head = head_text(path)  # the first 16 KiB; empty on any OS error: never raises
        grammar = sniff(head)
        if grammar is None and (_TQDM.search(head) or _long_preamble(head) or _BASICSR_OPTIONS.search(head)):
            # a slow run's bar redraws fill the head before its first logged line, or a framework's start-up
            # log lines do (TensorFlow/XLA/absl warnings before a JAX training's first metrics, BasicSR's options
            # dump and the warnings after it)
            grammar = sniff(head_text(path, DEEP_SNIFF_BYTES))
        if grammar is None or (grammar == "hf" and folder in trainer_above):
            continue  # (the Trainer's printout beside its own output_dir: its side output)
        tree.claim(path)
        sources.append(RunSource(name=tree.run_name(path), path=path, format=FORMAT, files=[path],
                                 options={"grammar": grammar}))
    return sources


def _stream(path: Path) -> Iterator[str]:
    """The file's lines as a stream; a carriage return ends a line too (newline="")."""
    try:
        with limits.open_regular(path) as raw, io.TextIOWrapper(raw, encoding="utf-8", errors="replace",
                                                                 newline="") as text:
            for line in text:
                yield line.rstrip("\r\n")
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({limits.describe_os_error(exc)})") from None


def _fastai_table(lines: list[str]) -> bool:
    """Whether the file's head shows fastai's results table (`epoch  train_loss  valid_loss ... time`)."""
    for line in lines:  # printed as fit() starts
        head = _TABLE_HEAD.match(line) if "valid_loss" in line else None
        if head:
            names = head.group(1).split()
            return "train_loss" in names and names[-1] == "time"
    return False


ARGS_HEAD_BYTES = 1 << 16  # a script prints its arguments before its first epoch
ARGS_MAX_LINES = 400  # MAE/DeiT print one argument a line


def _printed_args(lines: list[str]) -> dict[str, Any]:
    """The arguments a script printed before training, `print(args)` of an argparse Namespace (DeiT, MAE,
    timm-style and countless own scripts: `Namespace(batch_size=64, lr=0.0005, opt='adamw', ...)`, on one line
    or one argument a line): its literal values as the run's hyperparameters, so the LR and optimizer a rule
    needs come with a printed log. Parsed with ast (literals only, never evaluated); a value that is no
    literal (`device(type='cuda')`) is left out."""
    for i, line in enumerate(lines):
        start = line.find("Namespace(")
        if start >= 0:
            return _scalar_literals(_literal_pairs(_gathered(lines, i, start, ")"), _NAMESPACE_KEY, ")"))
    return {}


def _clu_hparams(lines: list[str]) -> dict[str, Any]:
    """The hyperparameters a CLU writer logged (`[Hyperparameters] {'learning_rate': 0.1, ...}`, over several
    lines when a value prints so, as `dict(ConfigDict)`'s nested ConfigDicts do) in the file's head: the dict's
    scalar values, parsed as literals (never evaluated as code)."""
    for i, line in enumerate(lines):
        start = line.find("[Hyperparameters]")
        brace = line.find("{", start) if start >= 0 else -1
        if brace >= 0:
            return _scalar_literals(_literal_pairs(_gathered(lines, i, brace, "}"), _DICT_KEY, "}"))
    return {}


_NAMESPACE_KEY = re.compile(r"(?:^Namespace\(|,\s{0,8})([A-Za-z_]\w{0,60})=")
_DICT_KEY = re.compile(r"(?:^\{|,\s{0,8})'([^'\n]{1,60})':\s")
_LITERAL_ERRORS = (ValueError, TypeError, SyntaxError, MemoryError, RecursionError)


def _gathered(lines: list[str], i: int, start: int, closer: str) -> str:
    """The literal printed from lines[i][start:], over as many lines as it takes to close (at most
    ARGS_MAX_LINES): one argument a line, a nested config printed over several."""
    text = lines[i][start:]
    for more in lines[i + 1:i + ARGS_MAX_LINES]:
        if text.rstrip().endswith(closer) and _parses(text.rstrip()):
            break
        text += "\n" + more
    return text.rstrip()


def _parses(text: str) -> bool:
    try:
        ast.parse(text, mode="eval")
    except _LITERAL_ERRORS:
        return False
    return True


def _literal_pairs(text: str, key: re.Pattern, closer: str) -> list[tuple[Any, Any]]:
    """(key, value node or value source) of a printed call's keywords or a dict's items. A repr that is not
    Python (`device=<module 'posixpath'>`, `'dtype': <class 'numpy.float32'>`) is cut at each key, and each
    value's source kept alone."""
    try:
        body = ast.parse(text, mode="eval").body
    except _LITERAL_ERRORS:
        keys = list(key.finditer(text))
        ends = [m.start() for m in keys[1:]] + [text.rfind(closer)]
        return [(m.group(1), text[m.end():end].strip()) for m, end in zip(keys, ends)]
    if isinstance(body, ast.Call):
        return [(k.arg, k.value) for k in body.keywords if k.arg]
    if isinstance(body, ast.Dict):
        return [(k.value, v) for k, v in zip(body.keys, body.values) if isinstance(k, ast.Constant)]
    return []


def _scalar_literals(pairs: list[tuple[Any, Any]]) -> dict[str, Any]:
    """The pairs whose value is a scalar literal (ast.literal_eval: nothing is evaluated as code)."""
    out: dict[str, Any] = {}
    for name, node in pairs:
        try:
            value = ast.literal_eval(node)
        except _LITERAL_ERRORS:
            continue
        if isinstance(name, str) and isinstance(value, (int, float, str, bool)):
            out[name] = value
    return out


MAX_RESUMES = 5  # more x values going back than this are a counter that starts again (each epoch's batches)


def _resumes(x: np.ndarray) -> list[tuple[int, bool]]:
    """(index, whether a new training) of each place one metric's x goes back, when they are resumes or one new
    training: a training resumed from a checkpoint prints the epochs after it again (epochs 21-25 of a public
    VGG16 log ran twice after `Loaded <- best.pth (epoch=20)`), and its later points win, as in a TensorBoard
    folder (advisor.ingest.tb_assemble); a second training appended to the file starts at the metric's first
    x. Several starts over, or more than MAX_RESUMES goings back, are a counter that starts again each epoch
    (no epoch printed): kept as logged (empty list)."""
    backs = np.nonzero(np.diff(x) < 0)[0] + 1
    if not len(backs) or len(backs) > MAX_RESUMES:
        return []
    anew = x[backs] <= x[0]
    return [] if anew.sum() > 1 else [(int(i), bool(a)) for i, a in zip(backs, anew)]


def _later_wins(run: Run, steps: dict[str, array], values: dict[str, array], order: dict[str, array],
                backs: list[int], axis: str) -> None:
    """Resolve the log's resumes and a second training in place (`_resumes`, per metric: an evaluation logged
    late, at a step before the last training line, goes back on no metric's own axis): a metric's points at or
    past where it resumes give way to the later ones; a new training drops every point of the file before it,
    with a warning. The restart events say which (and how many points)."""
    cuts: dict[str, list[tuple[int, int, bool]]] = {}  # metric -> (record number, x, new training)
    for name in steps:
        x, record = np.frombuffer(steps[name], dtype=np.int64), np.frombuffer(order[name], dtype=np.int64)
        found = [(int(record[i]), int(x[i]), anew) for i, anew in _resumes(x)]
        if found:
            cuts[name] = found
    starts = sorted({(n, x0) for found in cuts.values() for n, x0, anew in found if anew})
    if len(starts) > 1:
        return  # metrics that disagree where the training starts over: left as logged
    dropped: dict[int, int] = {}
    for name in list(steps):
        x, record = np.frombuffer(steps[name], dtype=np.int64), np.frombuffer(order[name], dtype=np.int64)
        keep = np.ones(len(x), dtype=bool)
        for n, x0, anew in [*cuts.get(name, []), *((n, x0, True) for n, x0 in starts)]:
            gone = keep & (record < n) & ((x >= x0) | anew)
            dropped[n] = dropped.get(n, 0) + int(gone.sum())
            keep &= ~gone
        if not keep.all():
            steps[name], values[name] = array("q", x[keep].tobytes()), array("d", np.frombuffer(values[name])[keep].tobytes())
            order[name] = array("q", record[keep].tobytes())
            if not len(steps[name]):
                del steps[name], values[name], order[name]
    for n, event in zip(backs, run.events):
        if n in dropped:
            anew = any(n == s for s, _ in starts)
            event.update({"reason": "a new training" if anew else "resumed from a checkpoint: the later points win",
                          "dropped": dropped[n], **({"new_training": True} if anew else {})})
    for n, x0 in starts:
        run.warnings.append(f"{run.path}: 2 trainings logged into one file: the {axis} counter starts over at {axis} "
                            f"{x0:,} (record {n + 1:,}); only the last is diagnosed ({dropped.get(n, 0):,} points of "
                            "the earlier one left out): give each training its own log file to diagnose them apart")


def read(source: RunSource) -> Run:
    """Every record of one console log, under the grammar its head showed, streamed into compact
    per-metric arrays (a 100 MB log of a million steps must not become a million dicts)."""
    path = Path(source.path)
    grammar = source.options.get("grammar", "lines")
    # a first pass for the axis (plain lines: steps or epochs; hf: what places the dicts)
    hf_axis = console_hf.axis(_screen(_stream(path))) if grammar == "hf" else None
    by_step = grammar != "lines" or _counts_steps(_screen(_stream(path)))
    steps: dict[str, array] = {}
    values: dict[str, array] = {}
    order: dict[str, array] = {}  # each point's record number
    run = Run(name=source.name, path=str(path), format=FORMAT, writer=grammar)
    previous = None
    backs: list[int] = []  # the record numbers where the x went back
    for n, (x, pairs) in enumerate(records(grammar, _screen(_stream(path)), by_step, hf_axis)):
        if previous is not None and x < previous:
            if len(run.events) < 20:
                run.events.append({"kind": "restart", "step": x, "reason": "x value went back"})
            backs.append(n)
        previous = x
        for name, value in pairs.items():
            steps.setdefault(name, array("q")).append(x)
            values.setdefault(name, array("d")).append(value)
            order.setdefault(name, array("q")).append(n)
    if not steps:
        raise IngestError(f"{path}: no training records (no line with an epoch or step and metric values)")
    _later_wins(run, steps, values, order, backs, "epoch" if grammar == "keras" or not by_step else "step")
    if grammar == "lines":
        head = _LINE_BREAK.split(head_text(path, ARGS_HEAD_BYTES))  # read once for what a log prints first
        run.hparams = {**_printed_args(head), **_clu_hparams(head)}
        if _fastai_table(head):
            run.writer = "fastai"  # its metrics (accuracy, error_rate) are the validation set's, as in its CSV
    builder = SeriesBuilder()
    for name in steps:
        builder.add_many(name, np.frombuffer(steps[name], dtype=np.int64), np.frombuffer(values[name]))
    run.series = builder.build()
    if hf_axis is not None:
        run.meta["x_axis"] = {"epoch": "epoch", "rank": "row"}.get(hf_axis.mode, "step")
        if hf_axis.mode == "counter":
            run.writer = "dicts"  # a loop's own printed dicts (their step counter places them), no Trainer
        if hf_axis.skipped:
            run.warnings.append(f"{path}: skipped {hf_axis.skipped} printed dict(s) at an epoch that places "
                                f"nothing (not a number, negative or beyond {console_hf.MAX_EPOCH:.0e})")
    else:
        run.meta["x_axis"] = "epoch" if grammar == "keras" or not by_step else "step"
    return run


__all__ = ["claim", "read", "sniff", "records"]
