/* The smoke test's C half: load a frozen graph through TensorFlow's C API, run one batch, write
 * the outputs. Usage:
 *   model_run GRAPH.pb INPUT_OP OUTPUT_OP INPUTS.bin BATCH HEIGHT WIDTH CHANNELS OUTPUTS.bin
 * Exit codes: 0 ok, 2 usage, 3 graph or operation not found, 4 session error.
 * With TFBUILD_SMOKE_MAPS=FILE in the environment, the process's /proc/self/maps is copied there
 * at start (the libraries the loader linked) and again after the run (with those loaded on
 * demand), so the smoke test can say which libtensorflow actually ran. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensorflow/c/c_api.h"

static void* read_file(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  void* data = malloc((size_t)n);
  if (data && fread(data, 1, (size_t)n, f) != (size_t)n) { free(data); data = NULL; }
  fclose(f);
  *size = (size_t)n;
  return data;
}

static void free_buffer(void* data, size_t length) { (void)length; free(data); }
static void no_free(void* data, size_t length, void* arg) { (void)data; (void)length; (void)arg; }

static void list_placeholders(TF_Graph* graph) {
  size_t pos = 0;
  TF_Operation* op;
  fprintf(stderr, "operations of type Placeholder in the graph:");
  while ((op = TF_GraphNextOperation(graph, &pos)) != NULL) {
    if (strcmp(TF_OperationOpType(op), "Placeholder") == 0)
      fprintf(stderr, " %s", TF_OperationName(op));
  }
  fprintf(stderr, "\n");
}

static void dump_maps(void) {
  const char* target = getenv("TFBUILD_SMOKE_MAPS");
  if (!target || !*target) return;
  FILE* in = fopen("/proc/self/maps", "r");
  FILE* out = in ? fopen(target, "w") : NULL;
  char line[4096];
  while (out && fgets(line, sizeof line, in)) fputs(line, out);
  if (out) fclose(out);
  if (in) fclose(in);
}

int main(int argc, char** argv) {
  dump_maps();
  if (argc != 10) {
    fprintf(stderr, "usage: %s GRAPH INPUT_OP OUTPUT_OP INPUTS BATCH H W C OUTPUTS\n", argv[0]);
    return 2;
  }
  const char *graph_path = argv[1], *input_op = argv[2], *output_op = argv[3];
  int64_t dims[4] = {atoll(argv[5]), atoll(argv[6]), atoll(argv[7]), atoll(argv[8])};
  printf("TF_Version: %s\n", TF_Version());

  size_t graph_size = 0, input_size = 0;
  void* graph_data = read_file(graph_path, &graph_size);
  if (!graph_data) { fprintf(stderr, "cannot read graph %s\n", graph_path); return 3; }
  float* inputs = read_file(argv[4], &input_size);
  size_t expected = (size_t)(dims[0] * dims[1] * dims[2] * dims[3]) * sizeof(float);
  if (!inputs || input_size != expected) {
    fprintf(stderr, "inputs %s: %zu bytes, expected %zu\n", argv[4], input_size, expected);
    return 2;
  }

  TF_Status* status = TF_NewStatus();
  TF_Graph* graph = TF_NewGraph();
  TF_Buffer* buffer = TF_NewBuffer();
  buffer->data = graph_data;
  buffer->length = graph_size;
  buffer->data_deallocator = free_buffer;
  TF_ImportGraphDefOptions* import_opts = TF_NewImportGraphDefOptions();
  TF_GraphImportGraphDef(graph, buffer, import_opts, status);
  TF_DeleteImportGraphDefOptions(import_opts);
  TF_DeleteBuffer(buffer);
  if (TF_GetCode(status) != TF_OK) {
    fprintf(stderr, "cannot import graph %s: %s\n", graph_path, TF_Message(status));
    return 3;
  }
  TF_Operation* in = TF_GraphOperationByName(graph, input_op);
  TF_Operation* out = TF_GraphOperationByName(graph, output_op);
  if (!in || !out) {
    fprintf(stderr, "%s operation '%s' not found in %s\n", in ? "output" : "input",
            in ? output_op : input_op, graph_path);
    list_placeholders(graph);
    return 3;
  }

  TF_SessionOptions* session_opts = TF_NewSessionOptions();
  TF_Session* session = TF_NewSession(graph, session_opts, status);
  TF_DeleteSessionOptions(session_opts);
  if (TF_GetCode(status) != TF_OK) {
    fprintf(stderr, "cannot create a session: %s\n", TF_Message(status));
    return 4;
  }
  TF_Tensor* input_tensor = TF_NewTensor(TF_FLOAT, dims, 4, inputs, expected, no_free, NULL);
  TF_Output input_port = {in, 0}, output_port = {out, 0};
  TF_Tensor* output_tensor = NULL;
  TF_SessionRun(session, NULL, &input_port, &input_tensor, 1, &output_port, &output_tensor, 1,
                NULL, 0, NULL, status);
  if (TF_GetCode(status) != TF_OK) {
    fprintf(stderr, "session run failed: %s\n", TF_Message(status));
    return 4;
  }
  FILE* f = fopen(argv[9], "wb");
  if (!f) { fprintf(stderr, "cannot write %s\n", argv[9]); return 4; }
  fwrite(TF_TensorData(output_tensor), 1, TF_TensorByteSize(output_tensor), f);
  fclose(f);
  dump_maps();
  printf("ran %lld examples, %zu output bytes\n", (long long)dims[0],
         TF_TensorByteSize(output_tensor));

  TF_DeleteTensor(input_tensor);
  TF_DeleteTensor(output_tensor);
  TF_CloseSession(session, status);
  TF_DeleteSession(session, status);
  TF_DeleteGraph(graph);
  TF_DeleteStatus(status);
  free(inputs);
  return 0;
}
