using Deprov.Core;
using Deprov.Core.Connectors;

namespace Deprov.Connectors.Aws.Protocol;

/// <summary>
/// Signs each attempt with Signature Version 4 at the moment it is sent: AWS refuses a signature whose <c>X-Amz-Date</c> is
/// more than 15 minutes off, and a retry after a long <c>Retry-After</c> must not go out with a stale one. Signs
/// <c>content-type</c>, <c>host</c> and <c>x-amz-date</c> and the body. The secret access key is resolved on first use
/// (so a missing variable fails this system's steps, not the process) and kept only in this object.
/// </summary>
internal sealed class SigV4Handler : DelegatingHandler
{
    private readonly string _label;
    private readonly AwsIamSettings _settings;
    private readonly ISecretResolver _secrets;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private string? _secret;

    public SigV4Handler(string label, AwsIamSettings settings, ISecretResolver secrets, TimeProvider time)
    {
        _label = label;
        _settings = settings;
        _secrets = secrets;
        _time = time;
    }

    public const string Service = "iam";

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri ?? throw new InvalidOperationException("A request to sign has no address.");
        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var amzDate = SigV4Signer.AmzDate(_time.GetUtcNow());
        // The retry strategy sends the same request message again: replace, never append.
        request.Headers.Remove("X-Amz-Date");
        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("X-Amz-Date", amzDate);
        var headers = new List<KeyValuePair<string, string>>
        {
            // What HttpClient sends as Host: the authority, with the port only when it is not the scheme's default.
            new("host", uri.Authority),
            new("x-amz-date", amzDate),
        };
        if (request.Content?.Headers.ContentType is { } type)
        {
            headers.Add(new("content-type", type.ToString()));
        }

        var signed = new SigV4Request(request.Method.Method, uri.AbsolutePath, uri.Query.TrimStart('?'), headers, body);
        request.Headers.TryAddWithoutValidation("Authorization",
            SigV4Signer.Authorization(signed, _settings.AccessKeyId, Secret(), _settings.Region, Service));
        return await base.SendAsync(request, cancellationToken);
    }

    private string Secret()
    {
        lock (_lock)
        {
            if (_secret is not null)
            {
                return _secret;
            }

            try
            {
                return _secret = _secrets.Resolve(_settings.SecretAccessKeyRef, $"{_label} secret_access_key");
            }
            catch (ValidationException e)
            {
                throw new ConnectorException($"{_label}: cannot read secret_access_key: {e.Message}", isTransient: false, e);
            }
        }
    }
}
