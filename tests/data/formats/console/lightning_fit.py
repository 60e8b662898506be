"""One real Lightning fit whose terminal output (the TQDM progress bar) is the log."""
import torch, lightning as L
from torch import nn
class M(L.LightningModule):
    def __init__(s):
        super().__init__(); s.net = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
    def training_step(s, b, i):
        x, y = b; loss = nn.functional.cross_entropy(s.net(x), y); s.log("train_loss", loss, prog_bar=True, on_step=True, on_epoch=True); return loss
    def validation_step(s, b, i):
        x, y = b; s.log("val_loss", nn.functional.cross_entropy(s.net(x), y), prog_bar=True)
    def configure_optimizers(s): return torch.optim.SGD(s.parameters(), lr=0.05)
torch.manual_seed(0)
X = torch.randn(640, 8); Y = (X[:, 0] + X[:, 1] > 0).long()
dl = lambda a, b, sh: torch.utils.data.DataLoader(torch.utils.data.TensorDataset(a, b), batch_size=32, shuffle=sh)
L.Trainer(max_epochs=12, callbacks=[L.pytorch.callbacks.TQDMProgressBar()], logger=L.pytorch.loggers.CSVLogger("."), enable_checkpointing=False, enable_model_summary=False, accelerator="cpu").fit(
    M(), dl(X[:512], Y[:512], True), dl(X[512:], Y[512:], False))
