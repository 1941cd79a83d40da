'''Five canonical PyTorch scripts, as PyTorch users write them, run with only their imports pointed at
firstepoch (issue 16, "The module surface scripts import"). Each script text below begins where its
imports end; run_script puts either torch's imports or firstepoch's in front of it. Each test runs
the script to the end under firstepoch and checks that its loss falls in the range the same text gives
under PyTorch 2.x (measured over several seeds; the torch_parity tests re-measure it where torch is
installed). The data are small (a slice of the embedded MNIST, random CIFAR-sized tensors, a list of
names) so that each script runs in seconds.

Our versions of: pytorch/examples mnist/main.py; the two "learning PyTorch with examples" fits of sin(x)
by a cubic (raw autograd and nn); a makemore-style character MLP; the CIFAR-10 tutorial's loop; the
sequence-models tutorial's LSTM part-of-speech tagger.
'''
import pytest

TORCH_IMPORTS = """\
import math
from types import SimpleNamespace

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset
"""

FIRSTEPOCH_IMPORTS = """\
import math
from types import SimpleNamespace

import firstepoch as torch
import firstepoch.nn as nn
import firstepoch.nn.functional as F
import firstepoch.optim as optim
from firstepoch.optim.lr_scheduler import StepLR
from firstepoch.utils.data import DataLoader, TensorDataset
"""


def run_script(text, library="firstepoch", **names):
    """Runs the script text after the imports of `library` ("firstepoch" or "torch"), with `names`
    predefined (the data a script would download, the seed); returns its global namespace."""
    imports = FIRSTEPOCH_IMPORTS if library == "firstepoch" else TORCH_IMPORTS
    namespace = dict(names, __name__="__ported__")
    exec(compile(imports + text, f"<{library} script>", "exec"), namespace)
    return namespace


# ---- (a) pytorch/examples mnist/main.py ---------------------------------------------------------------
# Inputs: train_images, train_labels, test_images, test_labels (uint8 / int64 NumPy arrays, the data
# torchvision would download), SEED, SAVE_PATH.
MNIST = '''
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(args, model, device, train_loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))
            if args.dry_run:
                break


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # get the index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()

    test_loss /= len(test_loader.dataset)

    print('\\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\\n'.format(
        test_loss, correct, len(test_loader.dataset),
        100. * correct / len(test_loader.dataset)))
    return test_loss, correct


def main():
    args = SimpleNamespace(batch_size=64, test_batch_size=1000, epochs=2, lr=1.0, gamma=0.7, no_cuda=False,
                           no_mps=False, dry_run=False, seed=SEED, log_interval=4, save_model=True)
    use_cuda = not args.no_cuda and torch.cuda.is_available()
    use_mps = not args.no_mps and torch.backends.mps.is_available()

    torch.manual_seed(args.seed)

    if use_cuda:
        device = torch.device("cuda")
    elif use_mps:
        device = torch.device("mps")
    else:
        device = torch.device("cpu")

    train_kwargs = {'batch_size': args.batch_size}
    test_kwargs = {'batch_size': args.test_batch_size}
    if use_cuda:
        cuda_kwargs = {'num_workers': 1, 'pin_memory': True, 'shuffle': True}
        train_kwargs.update(cuda_kwargs)
        test_kwargs.update(cuda_kwargs)

    # in place of datasets.MNIST with transforms.ToTensor() and transforms.Normalize((0.1307,), (0.3081,))
    def to_dataset(images, labels):
        x = torch.tensor((images / 255.0 - 0.1307) / 0.3081, dtype=torch.float32).unsqueeze(1)
        return TensorDataset(x, torch.tensor(labels, dtype=torch.long))
    dataset1 = to_dataset(train_images, train_labels)
    dataset2 = to_dataset(test_images, test_labels)
    train_loader = torch.utils.data.DataLoader(dataset1, **train_kwargs)
    test_loader = torch.utils.data.DataLoader(dataset2, **test_kwargs)

    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)

    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch)
        test_loss, correct = test(model, device, test_loader)
        scheduler.step()

    if args.save_model:
        torch.save(model.state_dict(), SAVE_PATH)
        model.load_state_dict(torch.load(SAVE_PATH, weights_only=True, map_location=device))
    return test_loss, correct


final_loss, final_correct = main()
'''


# ---- (b) "learning PyTorch with examples": sin(x) by a cubic, raw autograd ---------------------------
CUBIC_AUTOGRAD = '''
dtype = torch.float
device = torch.device("cpu")

x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)

torch.manual_seed(SEED)
a = torch.randn((), device=device, dtype=dtype, requires_grad=True)
b = torch.randn((), device=device, dtype=dtype, requires_grad=True)
c = torch.randn((), device=device, dtype=dtype, requires_grad=True)
d = torch.randn((), device=device, dtype=dtype, requires_grad=True)

learning_rate = 1e-6
for t in range(2000):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3

    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, loss.item())

    loss.backward()

    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad

        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

print(f'Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3')
final_loss = loss.item()
'''


# ---- (b') the same fit with nn ---------------------------------------------------------------------------
CUBIC_NN = '''
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)

torch.manual_seed(SEED)
model = torch.nn.Sequential(
    torch.nn.Linear(3, 1),
    torch.nn.Flatten(0, 1)
)

loss_fn = torch.nn.MSELoss(reduction='sum')

learning_rate = 1e-6
for t in range(2000):
    y_pred = model(xx)

    loss = loss_fn(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())

    model.zero_grad()

    loss.backward()

    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad

linear_layer = model[0]
print(f'Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + '
      f'{linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3')
final_loss = loss.item()
'''


# ---- (c) a makemore-style character-level MLP ----------------------------------------------------------
NAMES = """emma olivia ava isabella sophia charlotte mia amelia harper evelyn abigail emily elizabeth mila
ella avery sofia camila aria scarlett victoria madison luna grace chloe penelope layla riley zoey nora lily
eleanor hannah lillian addison aubrey ellie stella natalie zoe leah hazel violet aurora savannah audrey
brooklyn bella claire skylar lucy paisley everly anna caroline nova genesis emilia kennedy samantha maya
willow kinsley naomi aaliyah elena sarah ariana allison gabriella alice madelyn cora ruby eva serenity
autumn adeline hailey gianna valentina isla eliana quinn nevaeh ivy sadie piper lydia alexa josephine
emery julia delilah arianna vivian kaylee sophie brielle madeline liam noah william james oliver benjamin
elijah lucas mason logan alexander ethan jacob michael daniel henry jackson sebastian aiden matthew samuel
david joseph carter owen wyatt john jack luke jayden dylan grayson levi isaac gabriel julian mateo anthony
jaxon lincoln joshua christopher andrew theodore caleb ryan asher nathan thomas leo isaiah charles josiah
hudson christian hunter connor eli ezra aaron landon adrian jonathan nolan jeremiah easton elias colton
cameron carson robert angel maverick nicholas dominic jaxson greyson adam ian austin santiago jordan cooper
brayden roman evan ezekiel xavier jose jace jameson leonardo bryson axel everett parker kayden miles sawyer
jason declan weston micah ayden wesley luca vincent damian zachary silas gavin chase kai emmett harrison
nathaniel kingston cole tyler bennett bentley ryker tristan brandon kevin luis george ashton rowan braxton
ryder gael ivan diego maxwell max carlos kaiden juan maddox justin waylon calvin giovanni jonah abel jayce
jesus amir king beau camden alex jasper malachi brody jude blake emmanuel eric brooks elliot antonio abraham
timothy finn rhett elliott edward august xander alan dean lorenzo bryce karter victor milo miguel hayden
graham grant zion tucker jesse zayden joel richard patrick emiliano avery nicolas brantley dawson myles
matteo river steven thiago zane matias judah messiah jeremy preston oscar kaleb alejandro marcus mark
peter maximus barrett jax andres holden legend charlie knox kaden paxton kyrie kyle griffin josue kenneth
beckett enzo adriel arthur felix bradley""".split()

# Inputs: words (the names), SEED.
MAKEMORE = '''
torch.manual_seed(SEED)

chars = sorted(list(set(''.join(words))))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi['.'] = 0
itos = {i: s for s, i in stoi.items()}

block_size = 3  # context length: how many characters do we take to predict the next one?


def build_dataset(words):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + '.':
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]  # crop and append
    X = torch.tensor(X)
    Y = torch.tensor(Y)
    print(X.shape, Y.shape)
    return X, Y


Xtr, Ytr = build_dataset(words)

g = torch.Generator().manual_seed(2147483647)  # for reproducibility
C = torch.randn((27, 2), generator=g)
W1 = torch.randn((6, 100), generator=g)
b1 = torch.randn(100, generator=g)
W2 = torch.randn((100, 27), generator=g)
b2 = torch.randn(27, generator=g)
parameters = [C, W1, b1, W2, b2]
print(sum(p.nelement() for p in parameters))  # number of parameters in total
for p in parameters:
    p.requires_grad = True

lossi = []
for i in range(2000):
    # minibatch construct
    ix = torch.randint(0, Xtr.shape[0], (32,))

    # forward pass
    emb = C[Xtr[ix]]  # (32, 3, 2)
    h = torch.tanh(emb.view(-1, 6) @ W1 + b1)  # (32, 100)
    logits = h @ W2 + b2  # (32, 27)
    loss = F.cross_entropy(logits, Ytr[ix])

    # backward pass
    for p in parameters:
        p.grad = None
    loss.backward()

    # update
    lr = 0.1 if i < 1500 else 0.01
    for p in parameters:
        p.data += -lr * p.grad

    lossi.append(loss.log10().item())

emb = C[Xtr]  # (N, 3, 2)
h = torch.tanh(emb.view(-1, 6) @ W1 + b1)
logits = h @ W2 + b2
loss = F.cross_entropy(logits, Ytr)
print(loss.item())
final_loss = loss.item()

# sample from the model
g = torch.Generator().manual_seed(2147483647 + 10)
samples = []
for _ in range(10):
    out = []
    context = [0] * block_size  # initialize with all ...
    while True:
        emb = C[torch.tensor([context])]  # (1, block_size, d)
        h = torch.tanh(emb.view(1, -1) @ W1 + b1)
        logits = h @ W2 + b2
        probs = F.softmax(logits, dim=1)
        ix = torch.multinomial(probs, num_samples=1, generator=g).item()
        context = context[1:] + [ix]
        out.append(ix)
        if ix == 0:
            break
    samples.append(''.join(itos[i] for i in out))
    print(samples[-1])
'''


# ---- (d) the CIFAR-10 tutorial's training loop, on random CIFAR-sized tensors ----------------------------
# In place of torchvision's CIFAR10: 10 random 3x32x32 class templates; an image is its class's template
# plus noise, so the labels can be learnt.
CIFAR = '''
torch.manual_seed(SEED)
templates = torch.randn(10, 3, 32, 32)
train_labels = torch.randint(0, 10, (1000,))
train_images = 2 * templates[train_labels] + torch.randn(1000, 3, 32, 32)
test_labels = torch.randint(0, 10, (200,))
test_images = 2 * templates[test_labels] + torch.randn(200, 3, 32, 32)

batch_size = 4
trainset = TensorDataset(train_images, train_labels)
trainloader = torch.utils.data.DataLoader(trainset, batch_size=batch_size, shuffle=True)
testset = TensorDataset(test_images, test_labels)
testloader = torch.utils.data.DataLoader(testset, batch_size=batch_size, shuffle=False)

classes = ('plane', 'car', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck')


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)  # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


net = Net()

criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)

epoch_losses = []
for epoch in range(2):  # loop over the dataset multiple times

    running_loss = 0.0
    epoch_loss = 0.0
    for i, data in enumerate(trainloader, 0):
        # get the inputs; data is a list of [inputs, labels]
        inputs, labels = data

        # zero the parameter gradients
        optimizer.zero_grad()

        # forward + backward + optimize
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()

        # print statistics
        running_loss += loss.item()
        epoch_loss += loss.item()
        if i % 50 == 49:    # print every 50 mini-batches
            print(f'[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 50:.3f}')
            running_loss = 0.0
    epoch_losses.append(epoch_loss / len(trainloader))

print('Finished Training')

correct = 0
total = 0
# since we're not training, we don't need to calculate the gradients for our outputs
with torch.no_grad():
    for data in testloader:
        images, labels = data
        # calculate outputs by running images through the network
        outputs = net(images)
        # the class with the highest energy is what we choose as prediction
        _, predicted = torch.max(outputs.data, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()

print(f'Accuracy of the network on the {total} test images: {100 * correct // total} %')
final_loss = epoch_losses[-1]
'''


# ---- (e) the sequence-models tutorial's LSTM part-of-speech tagger ----------------------------------------
LSTM_TAGGER = '''
torch.manual_seed(SEED)


def prepare_sequence(seq, to_ix):
    idxs = [to_ix[w] for w in seq]
    return torch.tensor(idxs, dtype=torch.long)


training_data = [
    # Tags are: DET - determiner; NN - noun; V - verb
    # For example, the word "The" is a determiner
    ("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
    ("Everybody read that book".split(), ["NN", "V", "DET", "NN"])
]
word_to_ix = {}
# For each words-list (sentence) and tags-list in each tuple of training_data
for sent, tags in training_data:
    for word in sent:
        if word not in word_to_ix:  # word has not been assigned an index yet
            word_to_ix[word] = len(word_to_ix)  # Assign each word with a unique index
print(word_to_ix)
tag_to_ix = {"DET": 0, "NN": 1, "V": 2}  # Assign each tag with a unique index

# These will usually be more like 32 or 64 dimensional.
# We will keep them small, so we can see how the weights change as we train.
EMBEDDING_DIM = 6
HIDDEN_DIM = 6


class LSTMTagger(nn.Module):

    def __init__(self, embedding_dim, hidden_dim, vocab_size, tagset_size):
        super(LSTMTagger, self).__init__()
        self.hidden_dim = hidden_dim

        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)

        # The LSTM takes word embeddings as inputs, and outputs hidden states
        # with dimensionality hidden_dim.
        self.lstm = nn.LSTM(embedding_dim, hidden_dim)

        # The linear layer that maps from hidden state space to tag space
        self.hidden2tag = nn.Linear(hidden_dim, tagset_size)

    def forward(self, sentence):
        embeds = self.word_embeddings(sentence)
        lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
        tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
        tag_scores = F.log_softmax(tag_space, dim=1)
        return tag_scores


model = LSTMTagger(EMBEDDING_DIM, HIDDEN_DIM, len(word_to_ix), len(tag_to_ix))
loss_function = nn.NLLLoss()
optimizer = optim.SGD(model.parameters(), lr=0.1)

# See what the scores are before training
with torch.no_grad():
    inputs = prepare_sequence(training_data[0][0], word_to_ix)
    tag_scores = model(inputs)
    print(tag_scores)
    first_loss = loss_function(tag_scores, prepare_sequence(training_data[0][1], tag_to_ix)).item()

for epoch in range(300):  # again, normally you would NOT do 300 epochs, it is toy data
    for sentence, tags in training_data:
        # Step 1. Remember that Pytorch accumulates gradients.
        # We need to clear them out before each instance
        model.zero_grad()

        # Step 2. Get our inputs ready for the network, that is, turn them into
        # Tensors of word indices.
        sentence_in = prepare_sequence(sentence, word_to_ix)
        targets = prepare_sequence(tags, tag_to_ix)

        # Step 3. Run our forward pass.
        tag_scores = model(sentence_in)

        # Step 4. Compute the loss, gradients, and update the parameters by
        #  calling optimizer.step()
        loss = loss_function(tag_scores, targets)
        loss.backward()
        optimizer.step()

# See what the scores are after training
with torch.no_grad():
    inputs = prepare_sequence(training_data[0][0], word_to_ix)
    tag_scores = model(inputs)

    # The sentence is "the dog ate the apple".  i,j corresponds to score for tag j
    # for word i. The predicted tag is the maximum scoring tag.
    # Here, we can see the predicted sequence below is 0 1 2 0 1
    # since 0 is index maximum value for DET, 1 is index maximum value for NN, etc.
    print(tag_scores)
    final_loss = loss_function(tag_scores, prepare_sequence(training_data[0][1], tag_to_ix)).item()
    predicted_tags = tag_scores.argmax(dim=1).tolist()
'''


def _mnist_names(tmp_path):
    from firstepoch.datasets.mnist import mnist
    images, labels = mnist("train")
    test_images, test_labels = mnist("test")
    return dict(train_images=images[:1024], train_labels=labels[:1024], test_images=test_images[:500],
                test_labels=test_labels[:500], SAVE_PATH=str(tmp_path / "mnist_cnn.pt"))


def _names(name, tmp_path):
    if name == "mnist":
        return _mnist_names(tmp_path)
    if name == "makemore":
        return dict(words=NAMES)
    return {}


# name: (script, the range of final_loss PyTorch 2.13 gives over seeds 0..4, widened by a margin since
# firstepoch's random streams differ from torch's; see test_torch_gives_the_same_ranges)
SCRIPTS = {
    "mnist": (MNIST, (0.2, 0.7)),                   # torch: 0.38 .. 0.47 (seeds 0-2)
    "cubic_autograd": (CUBIC_AUTOGRAD, (7.0, 16.0)),  # torch: 8.9 .. 13.0 (seeds 0-15)
    "cubic_nn": (CUBIC_NN, (7.0, 14.0)),            # torch: 9.0 .. 9.6 (seeds 0-15)
    "makemore": (MAKEMORE, (2.2, 2.6)),             # torch: 2.34 .. 2.39 (seeds 0-4)
    "cifar": (CIFAR, (0.0, 1.2)),                   # torch: 0.10 .. 0.54 (seeds 0-4)
    "lstm_tagger": (LSTM_TAGGER, (0.0, 0.3)),       # torch: 0.029 .. 0.143 (seeds 0-4)
}


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_script_runs_under_firstepoch_with_torchs_loss(name, tmp_path):
    script, (low, high) = SCRIPTS[name]
    ns = run_script(script, "firstepoch", SEED=1, **_names(name, tmp_path))
    assert low <= ns["final_loss"] <= high, f"{name}: final loss {ns['final_loss']} outside [{low}, {high}]"
    if name == "mnist":
        assert ns["final_correct"] >= 380  # of 500 test digits (torch: 421 .. 444)
    if name == "lstm_tagger":
        assert ns["predicted_tags"] == [0, 1, 2, 0, 1] and ns["final_loss"] < ns["first_loss"]
    if name == "makemore":
        assert len(ns["samples"]) == 10 and all(s.endswith(".") for s in ns["samples"])
    if name == "cifar":
        assert ns["epoch_losses"][-1] < ns["epoch_losses"][0] and ns["correct"] > 0.5 * ns["total"]


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_torch_gives_the_same_ranges(name, tmp_path):
    """The same script text under PyTorch lands in the range the firstepoch test asks for."""
    pytest.importorskip("torch")
    script, (low, high) = SCRIPTS[name]
    ns = run_script(script, "torch", SEED=1, **_names(name, tmp_path))
    assert low <= ns["final_loss"] <= high, f"{name} under torch: final loss {ns['final_loss']}"
