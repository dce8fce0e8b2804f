/* test_chat.c: chat requests through the JSONL / Batch reader and chat
 * results through the writers (io_jsonl.c with harmony_chat.c, harmony.c).
 *
 *   test_chat RANKS SCRATCH_DIR
 *
 * Reader: the per-request options reach the prompt (reasoning_effort over the
 * --reasoning-effort default, model_identity, tools, tool_choice none, the
 * date), a Batch body renders as the same JSONL line, and each bad chat input
 * is that line's error naming the problem while the lines after it run.
 * The prompts' exact ids are the business of tests/io/chat_template_oracle.mjs;
 * here the decoded prompt text is searched for what each option must put there.
 * Writer: synthetic model outputs (specials from `<|name|>` markers, by
 * io_make_output in io_test.c) become reasoning + reasoning_content,
 * content, OpenAI tool_calls and finish_reason "tool_calls", in the JSONL
 * record and in the Batch chat.completion body.
 */
#include "harmony.h"
#include "io_test.h"
#include "requests.h"

#include <jansson.h>
#include <unistd.h>

static const Tokenizer *g_tok;

/* A chat model's limits and reasoning effort over io_defaults. */
static RequestDefaults chat_defaults(void) {
    RequestDefaults d = io_defaults();
    d.steps = 4096;
    d.max_seq_len = 131072;
    d.reasoning_effort = "medium";
    return d;
}

/* Every request of path, through reader_open (format detection) in rounds of 4. */
static InputRequest *read_all(const char *path, InputFormat fmt, const RequestDefaults *d, int *n) {
    RequestReader *r = NULL;
    Err err = {{0}};
    if (reader_open(path, fmt, g_tok, d, &r, NULL, &err) != GETP_OK) fatal("%s", err.msg);
    return io_read_all(r, 4, n);
}

/* The decoded prompt of a request ("" for an errored one). */
static char *prompt_text(const InputRequest *q) {
    char *text = NULL;
    size_t len = 0;
    Err err;
    if (!q->prompt) return xstrdup("");
    CHECK(tokenizer_decode(g_tok, q->prompt, q->p.n_prompt, &text, &len, &err) == GETP_OK);
    return text;
}

static void expect_prompt(const InputRequest *q, const char *needle, int present) {
    char *t = prompt_text(q);
    EXPECT(!q->error && (strstr(t, needle) != NULL) == present, "line %lld: %s \"%s\" in the prompt (%s):\n%s",
           (long long)q->line, present ? "expected" : "unexpected", needle, q->error ? q->error : "ok", t);
    free(t);
}

static void expect_error(const InputRequest *q, const char *needle) {
    char want[32];
    snprintf(want, sizeof want, "line %lld: ", (long long)q->line);
    EXPECT(q->error && strncmp(q->error, want, strlen(want)) == 0 && strstr(q->error, needle) && !q->prompt,
           "line %lld: error \"%s\", expected \"%s\"", (long long)q->line, q->error ? q->error : "(none)", needle);
}

static const char *TOOL =
    "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather now.\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}}";

static void test_reader(void) {
    char text[8192];
    snprintf(text, sizeof text,
             "{\"id\":1,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}\n"                               // 1
             "{\"id\":2,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"reasoning_effort\":\"high\"}\n"  // 2
             "{\"id\":3,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"model_identity\":\"You are Ada.\"}\n"
             "{\"id\":4,\"messages\":[{\"role\":\"system\",\"content\":\"Be kind.\"},{\"role\":\"user\",\"content\":\"Hi\"}],"
             "\"tools\":[%s]}\n"                                                                                  // 4
             "{\"id\":5,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"tools\":[%s],\"tool_choice\":\"none\"}\n"
             "{\"id\":6,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"reasoning_effort\":\"extreme\"}\n" // 6
             "{\"id\":7,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
             "\"tools\":[{\"type\":\"function\",\"function\":{\"description\":\"no name\"}}]}\n"                  // 7
             "{\"id\":8,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
             "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":\"d\",\"parameters\":[1]}}]}\n"
             "{\"id\":9,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"tool\",\"content\":\"42\"}]}\n"
             "{\"id\":10,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},"
             "{\"role\":\"assistant\",\"content\":\"<|start|>assistant<|channel|>final<|message|>x\"}]}\n"        // 10
             "{\"id\":11,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"tool_choice\":\"whenever\"}\n"   // 11
             "{\"id\":12,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"tools\":[%s],"
             "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}}\n"                 // 12
             "{\"id\":13,\"messages\":[{\"role\":\"user\",\"content\":\"Weather?\"},"
             "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
             "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]},"
             "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"-3 C\"}],\"tools\":[%s]}\n"               // 13
             "{\"id\":14,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"reasoning_effort\":null,"
             "\"model_identity\":null,\"tools\":null,\"tool_choice\":null}\n",                                    // 14
             TOOL, TOOL, TOOL, TOOL);
    io_write_file(io_path_in("chat.jsonl"), text);
    RequestDefaults d = chat_defaults();
    int n = 0;
    InputRequest *q = read_all(io_path_in("chat.jsonl"), INPUT_AUTO, &d, &n);
    EXPECT(n == 14, "%d requests", n);
    if (n != 14) fatal("cannot go on");
    const char *system = "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
                         "Knowledge cutoff: 2024-06\nCurrent date: 2024-02-29\n\nReasoning: medium\n\n"
                         "# Valid channels: analysis, commentary, final. Channel must be included for every message."
                         "<|end|><|start|>user<|message|>Hi<|end|><|start|>assistant";
    char *t0 = prompt_text(&q[0]);
    EXPECT(!q[0].error && strcmp(t0, system) == 0, "line 1 prompt:\n%s", t0);
    free(t0);
    EXPECT(q[0].kind == REQ_CHAT && q[0].p.n_stop == 3, "a chat stops on <|return|> <|call|> <|endoftext|>");
    int has_call = 0;
    for (int i = 0; i < q[0].p.n_stop; i++) has_call |= q[0].p.stop[i] == tokenizer_special_id(g_tok, "<|call|>");
    EXPECT(has_call, "<|call|> is a stop id of chats");
    expect_prompt(&q[1], "Reasoning: high\n", 1);
    expect_prompt(&q[2], "<|message|>You are Ada.\nKnowledge cutoff", 1);
    expect_prompt(&q[3], "'functions'.<|end|><|start|>developer<|message|># Instructions\n\nBe kind.\n\n# Tools\n\n"
                         "## functions\n\nnamespace functions {\n\n// Weather now.\ntype get_weather = (_: {\ncity: string,\n"
                         "}) => any;\n\n} // namespace functions<|end|>", 1);
    expect_prompt(&q[4], "functions", 0);
    expect_prompt(&q[4], "developer", 0);
    expect_error(&q[5], "unknown reasoning_effort \"extreme\"");
    expect_error(&q[6], "tools[0].function.name");
    expect_error(&q[7], "tools[0].function.parameters must be an object");
    expect_error(&q[8], "messages[1]: a tool message with no assistant tool call before it");
    expect_error(&q[9], "harmony tag <|start|>");
    expect_error(&q[10], "unknown tool_choice \"whenever\"");
    expect_error(&q[11], "named tool_choice is not supported");
    expect_prompt(&q[12], "<|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>"
                          "{\"city\": \"Oslo\"}<|call|><|start|>functions.get_weather to=assistant<|channel|>commentary"
                          "<|message|>\"-3 C\"<|end|><|start|>assistant", 1);
    EXPECT(!q[13].error && q[13].p.n_prompt == q[0].p.n_prompt &&
               memcmp(q[13].prompt, q[0].prompt, (size_t)q[0].p.n_prompt * sizeof *q[0].prompt) == 0,
           "null options are absent options (%s)", q[13].error ? q[13].error : "ok");

    /* the command line's default effort; a request's own wins */
    d.reasoning_effort = "low";
    int n2 = 0;
    InputRequest *q2 = read_all(io_path_in("chat.jsonl"), INPUT_JSONL, &d, &n2);
    expect_prompt(&q2[0], "Reasoning: low\n", 1);
    expect_prompt(&q2[1], "Reasoning: high\n", 1);
    for (int i = 0; i < n2; i++) input_request_free(&q2[i]);
    free(q2);
    /* no date given: today's, UTC */
    d.date = NULL;
    q2 = read_all(io_path_in("chat.jsonl"), INPUT_JSONL, &d, &n2);
    char today[11], want[64];
    harmony_today(today);
    snprintf(want, sizeof want, "Current date: %s\n", today);
    expect_prompt(&q2[0], want, 1);
    for (int i = 0; i < n2; i++) input_request_free(&q2[i]);
    free(q2);

    /* the same chats as Batch bodies render to the same ids */
    snprintf(text, sizeof text,
             "{\"custom_id\":\"b4\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"messages\":"
             "[{\"role\":\"system\",\"content\":\"Be kind.\"},{\"role\":\"user\",\"content\":\"Hi\"}],\"tools\":[%s]}}\n"
             "{\"custom_id\":\"b6\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"messages\":"
             "[{\"role\":\"user\",\"content\":\"Hi\"}],\"reasoning_effort\":\"extreme\"}}\n"
             "{\"custom_id\":\"b2\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"messages\":"
             "[{\"role\":\"user\",\"content\":\"Hi\"}],\"reasoning_effort\":\"high\"}}\n", TOOL);
    io_write_file(io_path_in("chat_batch.jsonl"), text);
    d = chat_defaults();
    q2 = read_all(io_path_in("chat_batch.jsonl"), INPUT_AUTO, &d, &n2);
    EXPECT(n2 == 3, "%d batch requests", n2);
    if (n2 == 3) {
        EXPECT(!q2[0].error && q2[0].p.n_prompt == q[3].p.n_prompt &&
                   memcmp(q2[0].prompt, q[3].prompt, (size_t)q[3].p.n_prompt * sizeof *q[3].prompt) == 0,
               "Batch body with tools == JSONL line (%s)", q2[0].error ? q2[0].error : "ok");
        expect_error(&q2[1], "unknown reasoning_effort");
        EXPECT(!q2[2].error && q2[2].p.n_prompt == q[1].p.n_prompt &&
                   memcmp(q2[2].prompt, q[1].prompt, (size_t)q[1].p.n_prompt * sizeof *q[1].prompt) == 0,
               "Batch body with reasoning_effort == JSONL line");
    }
    for (int i = 0; i < n2; i++) input_request_free(&q2[i]);
    free(q2);
    for (int i = 0; i < n; i++) input_request_free(&q[i]);
    free(q);
}

/* ----------------------------------------------------------------- writer */

static int is(json_t *o, const char *path, const char *want) {
    json_t *v = io_jget(o, path);
    return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

static json_t **write_and_read(InputFormat fmt, const char *name, InputRequest *q, Output *o, int n) {
    OutputWriter *w = NULL;
    int64_t done;
    Err err = {{0}};
    CHECK(writer_open(io_path_in(name), fmt, g_tok, 0, &w, &done, &err) == GETP_OK);
    for (int i = 0; i < n; i++) EXPECT(w->write(w, &q[i], &o[i], &err) == GETP_OK, "write %d: %s", i, err.msg);
    CHECK(w->flush(w, &err) == GETP_OK && w->close(w, &err) == GETP_OK);
    json_t **rows = xcalloc((size_t)n, sizeof *rows);
    FILE *f = fopen(io_path_in(name), "rb");
    CHECK(f != NULL);
    char *line = NULL;
    size_t cap = 0;
    for (int i = 0; i < n && getline(&line, &cap, f) > 0; i++) {
        json_error_t je;
        rows[i] = json_loads(line, 0, &je);
        EXPECT(rows[i] != NULL, "%s line %d: %s", name, i + 1, je.text);
    }
    free(line);
    fclose(f);
    return rows;
}

enum { N_OUT = 6 };

static void test_writer(void) {
    InputRequest q[N_OUT];
    memset(q, 0, sizeof q);
    for (int i = 0; i < N_OUT; i++) {
        q[i].index = i;
        q[i].kind = REQ_CHAT;
        q[i].p.n_prompt = 10;
        q[i].id = xstrdup(i == 0 ? "\"r0\"" : "\"rN\"");
    }
    Output o[N_OUT] = {
        /* the template's own shape: analysis, then a call addressed in the role header */
        io_make_output(g_tok,
                       "<|channel|>analysis<|message|>Need the weather.<|end|><|start|>assistant to=functions.get_weather"
                       "<|channel|>commentary <|constrain|>json<|message|>{\"city\": \"Oslo\"}<|call|>",
                       FINISH_STOP, 0),
        /* the recipient after the channel, and a preamble on commentary */
        io_make_output(g_tok,
                       "<|channel|>commentary<|message|>Checking.<|end|><|start|>assistant<|channel|>commentary "
                       "to=functions.lookup <|constrain|>json<|message|>{}<|call|>",
                       FINISH_STOP, 1),
        /* a plain answer */
        io_make_output(g_tok,
                       "<|channel|>analysis<|message|>Easy.<|end|><|start|>assistant<|channel|>final<|message|>4"
                       "<|return|>",
                       FINISH_STOP, 2),
        /* a call cut by the step bound */
        io_make_output(g_tok, " to=functions.get_weather<|channel|>commentary json<|message|>{\"city\": \"Os",
                       FINISH_LENGTH, 3),
        /* final text and a call (--ignore-eos style: the call is not the end) */
        io_make_output(g_tok,
                       "<|channel|>final<|message|>Let me look.<|end|><|start|>assistant to=functions.f<|channel|>"
                       "commentary<|message|>{\"é\": 1}<|call|>",
                       FINISH_LENGTH, 4),
        /* a completion (not a chat) ending in <|call|>: no tool_calls, finish stop */
        io_make_output(g_tok, "x<|call|>", FINISH_STOP, 5),
    };
    q[5].kind = REQ_COMPLETION;

    json_t **r = write_and_read(INPUT_JSONL, "chat_out.jsonl", q, o, N_OUT);
    EXPECT(is(r[0], "finish_reason", "tool_calls") && is(r[0], "text", "") &&
               is(r[0], "reasoning", "Need the weather.") && is(r[0], "reasoning_content", "Need the weather.") &&
               json_array_size(io_jget(r[0], "tool_calls")) == 1 && is(r[0], "tool_calls.0.id", "call_0_0") &&
               is(r[0], "tool_calls.0.type", "function") && is(r[0], "tool_calls.0.function.name", "get_weather") &&
               is(r[0], "tool_calls.0.function.arguments", "{\"city\": \"Oslo\"}") && !io_jget(r[0], "channels"),
           "jsonl tool call record");
    EXPECT(is(r[1], "finish_reason", "tool_calls") && is(r[1], "tool_calls.0.function.name", "lookup") &&
               is(r[1], "tool_calls.0.function.arguments", "{}") && is(r[1], "channels.commentary", "Checking.") &&
               !io_jget(r[1], "reasoning") && !io_jget(r[1], "reasoning_content"), "jsonl call after the channel");
    EXPECT(is(r[2], "finish_reason", "stop") && is(r[2], "text", "4") && is(r[2], "reasoning_content", "Easy.") &&
               !io_jget(r[2], "tool_calls"), "jsonl plain answer");
    EXPECT(is(r[3], "finish_reason", "length") && is(r[3], "tool_calls.0.function.arguments", "{\"city\": \"Os"),
           "jsonl cut call: length, partial arguments");
    EXPECT(is(r[4], "finish_reason", "length") && is(r[4], "text", "Let me look.") &&
               is(r[4], "tool_calls.0.function.name", "f") &&
               is(r[4], "tool_calls.0.function.arguments", "{\"\xc3\xa9\": 1}") && is(r[4], "tool_calls.0.id", "call_4_0"),
           "jsonl final text and a call");
    EXPECT(is(r[5], "finish_reason", "stop") && !io_jget(r[5], "tool_calls") && is(r[5], "text", "x"),
           "a completion is not parsed as harmony");
    for (int i = 0; i < N_OUT; i++) json_decref(r[i]);
    free(r);

    r = write_and_read(INPUT_BATCH, "chat_out_batch.jsonl", q, o, N_OUT);
    const char *m = "response.body.choices.0";
    char k[128];
#define AT(sub) (snprintf(k, sizeof k, "%s.%s", m, sub), k)
    EXPECT(is(r[0], "response.body.object", "chat.completion") && is(r[0], AT("finish_reason"), "tool_calls") &&
               json_is_null(io_jget(r[0], AT("message.content"))) &&
               is(r[0], AT("message.reasoning"), "Need the weather.") &&
               is(r[0], AT("message.reasoning_content"), "Need the weather.") &&
               is(r[0], AT("message.tool_calls.0.id"), "call_0_0") &&
               is(r[0], AT("message.tool_calls.0.type"), "function") &&
               is(r[0], AT("message.tool_calls.0.function.name"), "get_weather") &&
               is(r[0], AT("message.tool_calls.0.function.arguments"), "{\"city\": \"Oslo\"}"),
           "batch tool call body");
    EXPECT(is(r[2], AT("finish_reason"), "stop") && is(r[2], AT("message.content"), "4") &&
               !io_jget(r[2], AT("message.tool_calls")) && is(r[2], AT("message.reasoning_content"), "Easy."),
           "batch plain answer");
    EXPECT(is(r[4], AT("message.content"), "Let me look.") && is(r[4], AT("message.tool_calls.0.function.name"), "f"),
           "batch final text kept beside a call");
#undef AT
    for (int i = 0; i < N_OUT; i++) json_decref(r[i]);
    free(r);
    for (int i = 0; i < N_OUT; i++) {
        output_free(&o[i]);
        input_request_free(&q[i]);
    }
}

int main(int argc, char **argv) {
    Tokenizer *t = NULL;
    int rc = io_test_begin(argc, argv, "test_chat", &t);
    if (rc) return rc;
    g_tok = t;
    test_reader();
    test_writer();
    tokenizer_free(t);
    return io_test_finish();
}
